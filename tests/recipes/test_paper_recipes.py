"""recipes/r1-distill-qwen-{7b,14b}: the dry run checks, prints commands the CLIs accept, plans; no GPU."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tldr_data.cli import cli as data_cli
from tldr_train.cli import cli as train_cli

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = REPO.parent / "shared" / "data" / "benchmarks"
# The recipes read ../shared beside the repository; a clone without it skips the dry runs that check data.
requires_shared = pytest.mark.skipif(not BENCHMARKS.exists(), reason=f"{BENCHMARKS} is absent")
CLIS = {"tldr-data": data_cli, "tldr-train": train_cli}


def dry_run(size: str, tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    script = REPO / "recipes" / f"r1-distill-qwen-{size}" / "run.sh"
    return subprocess.run(
        ["bash", str(script), "--dry-run", *overrides],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@requires_shared
@pytest.mark.parametrize("size, grad_accum", [("7b", "1"), ("14b", "4")])
def test_dry_run_prints_commands_the_clis_accept_and_a_plan(
    size: str, grad_accum: str, tmp_path: Path
) -> None:
    result = dry_run(size, tmp_path, "hub_repo=org/tldr-mix")
    assert result.returncode == 0, result.stderr
    commands = [shlex.split(line) for line in result.stdout.splitlines() if line.startswith("tldr-")]
    assert len(commands) > 30
    for program, name, *args in commands:
        command = CLIS[program].commands[name]
        command.make_context(name, list(args))  # Click parses every option and argument as a real call would
    lines = {" ".join(c[:2]): c for c in commands}
    refs = shlex.join(lines["tldr-train init"])
    # The paper's setup (docs/ALGORITHM.md): one protocol, rounds of 32 steps at a constant 1e-5, eta 4, ...
    for setting in [
        "--eta 4.0", "--floor 0.0001", "--alpha0 0.5", "--tol 0.3",
        "--temperature 0.7 --top-p 0.95 --max-tokens 16000",
        "--steps 32", "--lr 1e-05 --lr-scheduler constant", f"--batch-size 1 --grad-accum {grad_accum}",
        "--max-length 16000", "--bf16 --gradient-checkpointing", "recipes/accelerate/zero3.yaml",
    ]:  # fmt: skip
        assert setting in refs, setting
    assert "--fresh-optimizer" not in refs and "--truncate" not in refs and "--lora" not in refs
    assert shlex.join(lines["tldr-train run"]).endswith("--rounds 62")
    pushes = [c for c in commands if c[:2] == ["tldr-data", "push"]]
    assert len(pushes) == 62 and pushes[3][-2:] == ["--revision", "round-003"]
    evals = [shlex.join(c) for c in commands if c[:2] == ["tldr-train", "eval"]]
    assert len(evals) == 15 and sum("-n 8" in line for line in evals) == 6  # AIME24, AMC23 x 3 models
    assert any(f"DeepSeek-R1-Distill-Qwen-{size.upper()} --bench" in line for line in evals)  # untouched base
    assert "resource plan (8 x H100 80 GB" in result.stdout and "total (node held)" in result.stdout
    assert not (tmp_path / "runs").exists()


def test_a_bad_override_or_gpu_count_is_one_line(tmp_path: Path) -> None:
    result = dry_run("7b", tmp_path, "gpus=4")
    assert result.returncode == 2
    assert result.stderr.strip() == "run.sh: data_parallel 8 x tensor_parallel 1 needs 8 GPUs; gpus is 4"
    result = dry_run("14b", tmp_path, "etta=4")
    assert result.returncode == 2 and "'etta=4' is not KEY=VALUE with a KEY of" in result.stderr


@requires_shared
def test_the_launcher_must_start_one_training_process_per_gpu(tmp_path: Path) -> None:
    result = dry_run("7b", tmp_path, "data_parallel=4", "gpus=4")
    assert result.returncode == 2
    assert result.stderr.strip() == "run.sh: the launcher starts 8 training processes; gpus is 4"
