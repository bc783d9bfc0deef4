"""One TLDR round: draw the mixture at the current ratio, train, evaluate on dev, update the ratio, save.

A round writes `RUN/round-NNN/{mix,ckpt,dev}` (layout: tldr_train/run.py). Every step leaves a finished
output (its done-marker, tldr_data/done.py) or resumes: a finished mixture is reused, a finished checkpoint is
not trained again, generation resumes and a finished verification is kept. The state file is saved last
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

from tldr_data import done
from tldr_data.errors import ConfigError, InputError, StageError
from tldr_data.mix import mix
from tldr_train import run
from tldr_train.evaluate import Protocol, measure
from tldr_train.launch import Launch, train_in_child
from tldr_train.run import CKPT, DEV, LOGS, MIX, RunState
from tldr_train.sft import train
from tldr_train.training import Training

# The run's settings (state.json `config`) a round reads; a state without one is refused before any work.
ROUND_NEEDS = ("long_model", "short_pool", "long_pool", "dev", "steps", "mix_size", "training")


def run_round(
    run_dir: str | os.PathLike,
    *,
    steps: int | None = None,
    mix_size: int | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Run the next round of the run in `run_dir` and return its history entry."""
    base = Path(run_dir)
    state = run.load(base, *ROUND_NEEDS)
    number = state.next_round
    folder = run.round_folder(base, number)
    steps = steps or state.config["steps"]
    size = mix_size or state.config["mix_size"]
    alpha = state.current_alpha
    seconds: dict[str, float] = {}

    start = starting_point(base, state)  # checked before anything of the round is written
    started = time.perf_counter()
    # The draw depends on the run seed and the round number, so every round sees fresh rows of its pools.
    mixture = draw_mixture(state, folder / MIX, alpha=alpha, number=number, size=size)
    seconds["mix"] = _since(started)

    started = time.perf_counter()
    trained = train_stage(state, folder, number, steps, start)
    if not trained["skipped"]:
        # New weights make any earlier measurement of this round's checkpoint stale.
        done.discard(folder / DEV)
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
            **launch_of(state).generation(),
        )
    except StageError as err:
        raise StageError(f"round {number:03d} dev evaluation: {err}") from None
    seconds["eval"] = _since(started)
    # What the engines spent; the rest of the round (process starts, loading, saving, mixing, verifying)
    # is overhead (docs/scaling.md).
    rate = trained["tokens_per_s"]
    seconds["train_loop"] = round(trained["train_tokens"] / rate, 3) if rate else 0.0
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
        dev=_dev_record(dev, base),
        seconds=seconds,
    )
    run.save(base, state)
    # Once the round is recorded, the trainer state it started from is no longer needed (until then a re-drawn
    # mixture may retrain the round from it).
    continuous = state.config.get("continuous", False)
    _prune_trainer_checkpoints(base, keep=folder / CKPT if continuous else None)
    return entry


def starting_point(base: Path, state: RunState) -> tuple[str, str | None]:
    """The weights the next round starts from (round 0: the System-2 model) and, in a continuous run, the
    trainer checkpoint (optimizer, scheduler, step) it continues; a missing one is named by its state key."""
    if not state.history:
        return str(state.config["long_model"]), None
    key = f"history[{len(state.history) - 1}].checkpoint"
    previous = base / state.history[-1]["checkpoint"]
    if not previous.is_dir():
        raise InputError(
            f"{base / run.STATE}: {key} {state.history[-1]['checkpoint']}: no such folder in the run; "
            "the next round starts from it"
        )
    continuous = state.config.get("continuous", False)
    return str(previous), _trainer_checkpoint(previous, key) if continuous else None


def train_stage(
    state: RunState, folder: Path, number: int, steps: int, start: tuple[str, str | None]
) -> dict[str, Any]:
    """Train the round's checkpoint from `start` (`starting_point`), in this process or through the run's
    launcher.

    Training continues from the previous round's weights (round 0: the original System-2 model) and, unless
    the run starts each round fresh, from its optimizer, scheduler and step: one continuous optimisation, as
    the paper's single run that re-weights every 32 steps. Once a round is recorded, only its trainer
    checkpoint (weights and optimizer state, ~16 bytes per parameter) stays on disk.
    """
    model, continue_from = start
    training = Training(**state.config["training"])
    options = {"max_steps": steps, "seed": state.seed + number, "continue_from": continue_from}
    launcher = launch_of(state).launcher
    if launcher:
        log = folder / LOGS / "train.log"
        stage = f"round {number:03d} training"
        trained = train_in_child(
            launcher, model, folder / MIX, folder / CKPT, training, log=log, stage=stage, **options
        )
    else:
        trained = train(model, folder / MIX, folder / CKPT, training, **options)
    return trained


def launch_of(state: RunState) -> Launch:
    """The run's launch settings (a run started before they existed runs every stage in this process)."""
    return Launch(**state.config.get("launch", {}))


def _trainer_checkpoint(ckpt: Path, key: str) -> str:
    """The trainer checkpoint (`checkpoint-N`, with optimizer state) a finished round left in `ckpt`."""
    from transformers.trainer_utils import get_last_checkpoint

    found = get_last_checkpoint(str(ckpt))
    if found is None:
        raise InputError(
            f"{ckpt} ({key}): holds no trainer checkpoint to continue from; the run needs a fresh "
            "optimizer (`tldr-train init --fresh-optimizer`)"
        )
    return found


def _prune_trainer_checkpoints(base: Path, keep: Path | None) -> None:
    """Remove every round's `ckpt/checkpoint-N` but those in `keep` (the one the next round continues)."""
    for old in base.glob(f"round-*/{CKPT}/checkpoint-*"):
        if old.parent != keep:
            shutil.rmtree(old, ignore_errors=True)


def run_rounds(run_dir: str | os.PathLike, rounds: int, **options: Any) -> Iterator[dict[str, Any]]:
    """Run rounds until the history holds `rounds` of them (a re-run after a kill finishes the job)."""
    if rounds < 1:
        raise ConfigError(f"--rounds {rounds}: run at least 1 round")
    while len(run.load(run_dir).history) < rounds:
        yield run_round(run_dir, **options)


def draw_mixture(state: RunState, folder: Path, *, alpha: float, number: int, size: int) -> dict[str, Any]:
    """The round's mixture: reused when a complete one at this ratio and size exists, drawn otherwise."""
    drawn = done.read_done(folder)
    if drawn is not None and drawn.get("alpha_short") == alpha and drawn.get("rows") == size:
        return drawn
    # What was trained and measured on another mixture of this round would not match the new one.
    for stale in (folder.parent / CKPT, folder.parent / DEV):
        done.discard(stale)
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


def _dev_record(dev: dict[str, Any], base: Path) -> dict[str, Any]:
    return {**dev, "verified": str(Path(dev["verified"]).relative_to(base))}


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 3)
