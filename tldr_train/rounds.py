"""One TLDR round: draw the mixture at the current ratio, train, evaluate on dev, update the ratio, save.

Layout of a round inside the run folder:

    round-000/mix/     the mixture (tldr-data mix's dataset folder)
    round-000/ckpt/    the checkpoint (tldr-train sft's model folder, `tldr_sft_done.json` when finished)
    round-000/dev/     the dev measurement (traces/ + verified.parquet; logs/ of generation processes)
    round-000/logs/    train.log when training runs through a launcher (torchrun, accelerate launch)

Every step leaves a finished output or resumes: a complete mixture folder is reused, a finished checkpoint is
not trained again, generation resumes and a complete verification is kept. The state file is saved last
and atomically, so a round is either in the history once or not at all, and killing `round` at any moment
and running it again gives the same history as an uninterrupted run.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tldr_data.errors import ConfigError, InputError, StageError
from tldr_data.mix import mix
from tldr_data.runstate import RunState
from tldr_train.evaluate import Protocol, measure
from tldr_train.launch import generation_processes, train_in_child
from tldr_train.refs import STATE
from tldr_train.sft import train

MIX, CKPT, DEV, LOGS = "mix", "ckpt", "dev", "logs"


def run_round(
    run_dir: str | os.PathLike,
    *,
    steps: int | None = None,
    mix_size: int | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Run the next round of the run in `run_dir` and return its history entry."""
    run = Path(run_dir)
    state = load_state(run)
    number = state.history[-1]["round"] + 1 if state.history else 0
    folder = run / f"round-{number:03d}"
    steps = steps or state.config["steps"]
    size = mix_size or state.config["mix_size"]
    alpha = state.current_alpha
    seconds: dict[str, float] = {}

    started = time.perf_counter()
    # The draw depends on the run seed and the round number, so every round sees fresh rows of its pools.
    mixture = draw_mixture(state, folder / MIX, alpha=alpha, number=number, size=size)
    seconds["mix"] = _since(started)

    started = time.perf_counter()
    trained = train_stage(run, state, folder, number, steps)
    if not trained["skipped"]:
        # New weights make any earlier measurement of this round's checkpoint stale.
        shutil.rmtree(folder / DEV, ignore_errors=True)
    seconds["train"] = _since(started)

    started = time.perf_counter()
    protocol = Protocol.from_dict(state.config["protocol"])
    try:
        dev = measure(
            folder / CKPT,
            state.config["dev"],
            folder / DEV,
            protocol,
            system=folder.name,
            progress=progress,
            **generation_processes(state.config),
        )
    except StageError as err:
        raise StageError(f"round {number:03d} dev evaluation: {err}") from None
    seconds["eval"] = _since(started)
    # What the engines spent; the rest of the round (process starts, loading, saving, mixing, verifying) is
    # overhead (docs/scaling.md).
    seconds["train_loop"] = (
        round(trained["train_tokens"] / trained["tokens_per_s"], 3) if trained["tokens_per_s"] else 0.0
    )
    seconds["generate"] = dev["generate_seconds"]

    entry = state.record(
        dev["accuracy"],
        dev["mean_tokens"],
        round=number,
        checkpoint=f"{folder.name}/{CKPT}",
        mixture=f"{folder.name}/{MIX}",
        steps=steps,
        mix_rows=mixture["rows"],
        mix_rows_per_pool=mixture["rows_per_pool"],
        train_loss=trained["train_loss"],
        train_tokens=trained["train_tokens"],
        global_step=trained.get("global_step", trained["steps"]),
        rows_over_max_length=trained.get("rows_over_max_length", 0),
        dev=_dev_record(dev, run),
        seconds=seconds,
    )
    state.save(run / STATE)
    return entry


def train_stage(run: Path, state: RunState, folder: Path, number: int, steps: int) -> dict[str, Any]:
    """Train the round's checkpoint, in this process or through the run's launcher (`launch.train`).

    Training continues from the previous round's weights (round 0: the original System-2 model) and, unless
    the run starts each round fresh, from its optimizer, scheduler and step: one continuous optimisation,
    as the paper's single run that re-weights every 32 steps. Only the latest trainer checkpoint (weights +
    optimizer state, ~16 bytes per parameter) is kept on disk.
    """
    continuous = state.config.get("continuous", False)
    previous = run / state.history[-1]["checkpoint"] if state.history else None
    settings = {
        **state.config["training"],
        "max_steps": steps,
        "seed": state.seed + number,
        "continue_from": _trainer_checkpoint(previous) if continuous and previous else None,
    }
    start = str(previous or state.config["long_model"])
    launcher = state.config.get("launch", {}).get("train")
    if launcher:
        log = folder / LOGS / "train.log"
        stage = f"round {number:03d} training"
        trained = train_in_child(
            launcher, start, folder / MIX, folder / CKPT, log=log, stage=stage, **settings
        )
    else:
        trained = train(start, folder / MIX, folder / CKPT, **settings)
    _prune_trainer_checkpoints(run, keep=folder / CKPT if continuous else None)
    return trained


def _trainer_checkpoint(ckpt: Path) -> str:
    """The trainer checkpoint (`checkpoint-N`, with optimizer state) a finished round left in `ckpt`."""
    from transformers.trainer_utils import get_last_checkpoint

    found = get_last_checkpoint(str(ckpt)) if ckpt.is_dir() else None
    if found is None:
        raise InputError(
            f"{ckpt}: holds no trainer checkpoint to continue from; start the run with --fresh-optimizer, "
            "or keep each round's checkpoint-N"
        )
    return found


def _prune_trainer_checkpoints(run: Path, keep: Path | None) -> None:
    """Remove every round's `ckpt/checkpoint-N` but those in `keep` (the one the next round continues)."""
    for old in run.glob(f"round-*/{CKPT}/checkpoint-*"):
        if old.parent != keep:
            shutil.rmtree(old, ignore_errors=True)


def run_rounds(run_dir: str | os.PathLike, rounds: int, **options: Any) -> Iterator[dict[str, Any]]:
    """Run rounds until the history holds `rounds` of them (a re-run after a kill finishes the job)."""
    if rounds < 1:
        raise ConfigError(f"--rounds {rounds}: run at least 1 round")
    while len(load_state(Path(run_dir)).history) < rounds:
        yield run_round(run_dir, **options)


def load_state(run: Path) -> RunState:
    """The run's state, with a next step in the message when the folder is not a run yet."""
    if not (run / STATE).is_file():
        raise InputError(f"{run}: not a run folder (no {STATE}); start it with `tldr-train refs -o {run}`")
    state = RunState.load(run / STATE)
    if state.references is None or "protocol" not in state.config:
        raise InputError(f"{run / STATE}: has no references yet; start the run with `tldr-train refs`")
    return state


def draw_mixture(state: RunState, folder: Path, *, alpha: float, number: int, size: int) -> dict[str, Any]:
    """The round's mixture: reused when a complete one at this ratio and size exists, drawn otherwise."""
    drawn = _card(folder)
    if drawn is not None and drawn.get("alpha_short") == alpha and drawn.get("rows") == size:
        return drawn
    # What was trained and measured on another mixture of this round would not match the new one.
    for stale in (folder.parent / CKPT, folder.parent / DEV):
        shutil.rmtree(stale, ignore_errors=True)
    return mix(
        state.config["short_pool"],
        state.config["long_pool"],
        folder,
        ratio=alpha,
        size=size,
        seed=state.seed,
        round=number,
        command=f"tldr-train round --run {folder.parent.parent}",
        overwrite=True,
    )


def format_line(entry: dict[str, Any]) -> str:
    """The fixed-format line printed for each round."""
    seconds = entry["seconds"]
    return (
        f"round {entry['round']:03d}  alpha_short {entry['alpha_short']:.4f}  "
        f"dev acc {entry['dev_accuracy']:.3f}  tokens {entry['dev_tokens']:,.1f}  "
        f"b_short {entry['b_short']:.3f}  b_long {entry['b_long']:.3f}  "
        f"next alpha_short {entry['next_alpha_short']:.4f}  "
        f"(mix {seconds['mix']:.1f}s, train {seconds['train']:.1f}s, eval {seconds['eval']:.1f}s)"
    )


def _card(folder: Path) -> dict[str, Any] | None:
    """The `tldr` block of a complete mixture's dataset card (mix writes the folder atomically)."""
    card = folder / "README.md"
    if not card.is_file():
        return None
    header = card.read_text().split("---\n")[1]
    return yaml.safe_load(header).get("tldr")


def _dev_record(dev: dict[str, Any], run: Path) -> dict[str, Any]:
    return {**dev, "verified": str(Path(dev["verified"]).relative_to(run))}


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 3)
