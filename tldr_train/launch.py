"""Heavy stages as child processes: training through the launcher the run records, HF users' way.

A run records a launcher: `python`, `torchrun --nproc_per_node 8`, or
`accelerate launch --config_file recipes/accelerate/zero3.yaml`. A round's training is then
`LAUNCHER -m tldr_train.sft FLAGS` (the flags `sft.train_argv` builds), run to completion before the dev
evaluation starts, so the GPUs are free between stages. Each child's output goes to a log file; a child that
fails raises StageError with one line naming the stage and that log, and the stage's own resume (checkpoints,
done marker, generation shards) makes a re-run continue where it stopped.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tldr_data import done
from tldr_data.errors import ConfigError, StageError
from tldr_data.parallel import failure
from tldr_train.sft import train_argv
from tldr_train.training import Training

SFT_MODULE = "tldr_train.sft"


@dataclass(frozen=True)
class Launch:
    """How a run's heavy stages run; `tldr-train init` records it and every round reuses it."""

    launcher: str | None = field(
        default=None,
        metadata={
            "help": "Train each round in a child process: python, 'torchrun --nproc_per_node 8', "
            "'accelerate launch --config_file recipes/accelerate/zero3.yaml'  [default: in this process]"
        },
    )
    data_parallel: int = field(
        default=1,
        metadata={
            "help": "Generate in K processes, each pinned to its own GPUs (one traces folder, --part I/K)"
        },
    )
    tensor_parallel: int = field(
        default=1, metadata={"flags": ("--tensor-parallel-size",), "help": "GPUs per vLLM engine"}
    )

    def check(self) -> None:
        """Found now (an unknown launcher, a missing accelerate config), not at round 0's training."""
        if self.launcher:
            launcher_argv(self.launcher)
        for value, flag in (
            (self.data_parallel, "--data-parallel"),
            (self.tensor_parallel, "--tensor-parallel-size"),
        ):
            if value < 1:
                raise ConfigError(f"{flag} {value}: must be at least 1")

    def generation(self) -> dict[str, Any]:
        """`measure`'s process settings: K pinned engine processes, or this process.

        A run that launches its training in children generates in children too, so no engine outlives its
        stage in the round's process (vLLM does not give all GPU memory back when deleted).
        """
        in_children = bool(self.launcher) or self.data_parallel > 1
        return {
            "processes": self.data_parallel if in_children else None,
            "tensor_parallel_size": self.tensor_parallel,
        }


def launcher_argv(launcher: str) -> list[str]:
    """The command prefix before `-m tldr_train.sft`, run with this interpreter's packages.

    `torchrun ...` and `accelerate launch ...` become `python -m torch.distributed.run ...` and
    `python -m accelerate.commands.launch ...` (the same programs), so the children use this environment
    whatever PATH says.
    """
    words = shlex.split(launcher)
    if words[:1] in (["python"], ["python3"]):
        return [sys.executable, *words[1:]]
    if words[:1] == ["torchrun"]:
        return [sys.executable, "-m", "torch.distributed.run", *words[1:]]
    if words[:2] == ["accelerate", "launch"]:
        _check_accelerate_config(words[2:], launcher)
        return [sys.executable, "-m", "accelerate.commands.launch", *words[2:]]
    raise ConfigError(
        f"--launcher {launcher!r}: start it with python, torchrun or accelerate launch "
        "(e.g. 'torchrun --nproc_per_node 8')"
    )


def sft_command(
    launcher: str, model: str, dataset: Any, output: Any, training: Training, **options: Any
) -> list[str]:
    """The full training command a round runs: the launcher, `-m tldr_train.sft`, `train_argv`'s flags."""
    return [
        *launcher_argv(launcher),
        "-m",
        SFT_MODULE,
        *train_argv(model, dataset, output, training, **options),
    ]


def train_in_child(
    launcher: str,
    model: str,
    dataset: Any,
    output: Any,
    training: Training,
    *,
    log: Path,
    stage: str,
    **options: Any,
) -> dict[str, Any]:
    """Train through the launcher; the summary is the done-marker the child wrote (skipped when it exists)."""
    finished = done.read_done(output)
    if finished is not None:
        return {**finished, "skipped": True}
    run_child(stage, sft_command(launcher, model, dataset, output, training, **options), log)
    finished = done.read_done(output)
    if finished is None:
        raise StageError(f"{stage}: the launcher exited 0 but {output} has no done-marker; log: {log}")
    return {**finished, "skipped": False}


def run_child(stage: str, command: list[str], log: Path, env: dict[str, str] | None = None) -> None:
    """Run `command` with its output appended to `log` (each attempt under its command line)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as stream:
        stream.write(f"$ {shlex.join(command)}\n")
        stream.flush()
        code = subprocess.run(
            command, stdout=stream, stderr=subprocess.STDOUT, env=env or dict(os.environ)
        ).returncode
    if code != 0:
        raise StageError(failure(stage, code, log))


def _check_accelerate_config(args: list[str], launcher: str) -> None:
    """A named accelerate config must exist and load, before any model is touched."""
    if "--config_file" not in args:
        return
    index = args.index("--config_file") + 1
    path = Path(args[index]) if index < len(args) else None
    if path is None or not path.is_file():
        raise ConfigError(f"--launcher {launcher!r}: no accelerate config file {path}")
    from accelerate.commands.config.config_args import load_config_from_file

    try:
        load_config_from_file(str(path))
    except Exception as err:  # noqa: BLE001 - accelerate raises ValueError/TypeError/KeyError for bad files
        raise ConfigError(f"--launcher {launcher!r}: {path} is not an accelerate config ({err})") from None
