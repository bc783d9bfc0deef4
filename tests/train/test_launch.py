"""Rounds whose heavy stages are child processes: training under torchrun (2 processes, gloo on the CPU),
dev evaluation as 2 data-parallel generation processes; SIGKILL a child mid-round, re-run, same history."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tldr_data.errors import ConfigError
from tldr_train.launch import launcher_argv, sft_command
from tldr_train.run import RunState
from tldr_train.training import Training

LAUNCH = {"launcher": "torchrun --nproc_per_node 2", "data_parallel": 2, "tensor_parallel": 1}


def launched_copy(started_run: Path, folder: Path) -> Path:
    """The started run, set to train through torchrun and generate in 2 processes (what init records)."""
    import shutil

    run = Path(shutil.copytree(started_run, folder))
    state = RunState.load(run / "state.json")
    state.config["launch"] = LAUNCH
    state.save(run / "state.json")
    return run


def tldr_train(*args: str) -> list[str]:
    return [sys.executable, "-m", "tldr_train", *args]


def kill_child_when(process: subprocess.Popen, ready: Path, module: str) -> None:
    """SIGKILL the first descendant of `process` running `module` once `ready` exists."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and process.poll() is None:
        if ready.exists():
            for child in psutil.Process(process.pid).children(recursive=True):
                command = " ".join(child.cmdline())
                if module in command and "torch.distributed.run" not in command:
                    child.send_signal(signal.SIGKILL)
                    return
        time.sleep(0.05)
    raise AssertionError(f"no {module} child to kill (round exited {process.poll()})")


@pytest.mark.slow
def test_a_launched_round_killed_in_its_children_resumes_to_the_uninterrupted_history(
    started_run: Path, tmp_path: Path, history_numbers
) -> None:
    env = os.environ.copy()
    whole = launched_copy(started_run, tmp_path / "whole")
    done = subprocess.run(
        tldr_train("run", "--run", str(whole), "--rounds", "2"), capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    history = json.loads((whole / "state.json").read_text())["history"]
    # torchrun really ran 2 DDP processes: a global batch of 2 x 4 rows, so 4 steps are 2 passes over 16 rows.
    config = json.loads((whole / "round-000" / "ckpt" / "tldr_sft_config.json").read_text())
    assert config["training"]["ddp_backend"] == "gloo"
    log = (whole / "round-000" / "logs" / "train.log").read_text()
    assert "torch.distributed.run --nproc_per_node 2 -m tldr_train.sft" in log and "'epoch': '2'" in log
    assert sorted(p.name for p in (whole / "round-000" / "dev" / "logs").iterdir()) == [
        "generate-part-0-of-2.log",
        "generate-part-1-of-2.log",
    ]
    # One continuous optimisation: round 1 continues round 0's step count; only its checkpoint-N is kept.
    assert [entry["global_step"] for entry in history] == [4, 8]
    assert not list((whole / "round-000" / "ckpt").glob("checkpoint-*"))
    assert [p.name for p in (whole / "round-001" / "ckpt").glob("checkpoint-*")] == ["checkpoint-8"]

    killed = launched_copy(started_run, tmp_path / "killed")
    command = tldr_train("run", "--run", str(killed), "--rounds", "2")
    # 1. A generation process of round 0's dev evaluation dies.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    kill_child_when(
        process, killed / "round-000" / "dev" / "logs" / "generate-part-1-of-2.log", "tldr_data.parallel"
    )
    _, stderr = process.communicate()
    assert process.returncode == 1
    assert stderr.strip().splitlines()[-1].startswith("Error: round 000 dev evaluation: generate part ")
    assert "killed by signal 9" in stderr and "/round-000/dev/logs/generate-part-" in stderr
    # 2. The re-run goes on, and a torchrun worker of round 1's training dies mid-training.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    kill_child_when(process, killed / "round-001" / "ckpt" / "tldr_sft_config.json", "tldr_train.sft")
    _, stderr = process.communicate()
    assert process.returncode == 1, stderr[-3000:]
    line = stderr.strip().splitlines()[-1]
    assert line.startswith("Error: round 001 training failed (exit 1") and line.endswith(
        "round-001/logs/train.log"
    )
    assert [entry["round"] for entry in json.loads((killed / "state.json").read_text())["history"]] == [0]
    # 3. The last re-run finishes: the history is the uninterrupted one.
    finished = subprocess.run(command, capture_output=True, text=True, env=env)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert history_numbers(json.loads((killed / "state.json").read_text())["history"]) == history_numbers(
        history
    )


def test_launchers_are_the_hf_commands_run_with_this_python(tmp_path: Path) -> None:
    assert launcher_argv("python") == [sys.executable]
    assert launcher_argv("torchrun --nproc_per_node 8") == [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "8",
    ]
    config = Path(__file__).resolve().parents[2] / "recipes" / "accelerate" / "zero3.yaml"
    assert launcher_argv(f"accelerate launch --config_file {config}")[1:] == [
        "-m", "accelerate.commands.launch", "--config_file", str(config)
    ]  # fmt: skip
    command = sft_command("torchrun --nproc_per_node 2", "m", "mix", "ckpt", Training(), max_steps=32)
    assert (
        command[-9:]
        == [
            "-m",
            "tldr_train.sft",
            "--model_name_or_path",
            "m",
            "--dataset",
            "mix",
            "--output_dir",
            "ckpt",
            "--max_steps",
            "32",
        ][-9:]
    )
    with pytest.raises(ConfigError, match="start it with python, torchrun or accelerate launch"):
        launcher_argv("deepspeed --num_gpus 8")
    with pytest.raises(ConfigError, match="no accelerate config file"):
        launcher_argv(f"accelerate launch --config_file {tmp_path / 'absent.yaml'}")


def test_init_refuses_an_unknown_launcher_before_any_work(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from tldr_train.cli import cli

    args = ["init", "--short-model", "s", "--long-model", "l", "--short-pool", "a", "--long-pool", "b"]
    args += ["--dev", "d", "-o", str(tmp_path / "run"), "--launcher", "deepspeed --num_gpus 8"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "Error: --launcher 'deepspeed --num_gpus 8': start it with python, torchrun or accelerate launch "
        "(e.g. 'torchrun --nproc_per_node 8')"
    ]
    assert not (tmp_path / "run").exists()
