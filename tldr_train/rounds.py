"""One TLDR round: draw the mixture at the current ratio, train, evaluate on dev, update the ratio, save.

A round writes `RUN/round-NNN/{mix,ckpt,dev}` (layout: tldr_train/run.py). Every step leaves a finished
output (its done-marker, tldr_data/done.py) or resumes: a finished mixture is reused, a finished checkpoint is
not trained again, generation resumes and a finished verification is kept. The state file is saved last
and atomically, so a round is either in the history once or not at all, and killing `round` at any moment
and running it again gives the same history as an uninterrupted run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tldr_data import done
from tldr_data.errors import ConfigError
from tldr_data.mix import mix
from tldr_train import run
from tldr_train.evaluate import Protocol, measure
from tldr_train.run import CKPT, DEV, MIX, RunState
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

    started = time.perf_counter()
    # The draw depends on the run seed and the round number, so every round sees fresh rows of its pools.
    mixture = draw_mixture(state, folder / MIX, alpha=alpha, number=number, size=size)
    seconds["mix"] = _since(started)

    started = time.perf_counter()
    # Training continues from the previous round's weights; round 0 starts from the original System-2 model.
    start = base / state.history[-1]["checkpoint"] if state.history else state.config["long_model"]
    trained = train(
        str(start),
        folder / MIX,
        folder / CKPT,
        Training(**state.config["training"]),
        max_steps=steps,
        seed=state.seed + number,
    )
    if not trained["skipped"]:
        # New weights make any earlier measurement of this round's checkpoint stale.
        done.discard(folder / DEV)
    seconds["train"] = _since(started)

    started = time.perf_counter()
    protocol = Protocol.from_dict(state.config["protocol"])
    dev = measure(
        folder / CKPT, state.config["dev"], folder / DEV, protocol, system=folder.name, progress=progress
    )
    seconds["eval"] = _since(started)

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
        dev=_dev_record(dev, base),
        seconds=seconds,
    )
    run.save(base, state)
    return entry


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
