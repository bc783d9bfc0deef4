"""The paper's checkpoint choice: the fewest dev tokens among rounds that keep enough of A_l's accuracy."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tldr_data.errors import InputError, TldrError
from tldr_train import run
from tldr_train.run import check_tol


class NoRoundQualifiesError(TldrError):
    """No recorded round reaches the accuracy floor; more rounds or a larger tolerance may help."""


def choose(history: list[dict[str, Any]], a_long: float, tol: float) -> dict[str, Any] | None:
    """The entry with the fewest dev tokens among those with accuracy >= (1 - tol) * A_l (earlier on ties)."""
    floor = (1.0 - tol) * a_long
    qualified = [entry for entry in history if entry["dev_accuracy"] >= floor]
    return min(qualified, key=lambda entry: (entry["dev_tokens"], entry["round"]), default=None)


def pick(run_dir: str | os.PathLike, *, tol: float | None = None) -> dict[str, Any]:
    """The picked round's entry with the rule's numbers; `tol` defaults to the run's own."""
    folder = Path(run_dir)
    state = run.load(folder)
    tol = state.tol if tol is None else tol
    check_tol(tol, "--tol")
    if not state.history:
        raise InputError(f"{folder}: no rounds recorded yet; run `tldr-train round --run {folder}` first")
    a_long = state.references.a_long
    floor = (1.0 - tol) * a_long
    chosen = choose(state.history, a_long, tol)
    if chosen is None:
        best = max(state.history, key=lambda entry: entry["dev_accuracy"])
        raise NoRoundQualifiesError(
            f"no round reaches dev accuracy {floor:.3f} (= (1 - {tol}) x A_l {a_long:.3f}); "
            f"the best is round {best['round']} with {best['dev_accuracy']:.3f}; "
            "run more rounds or pass a larger --tol"
        )
    return {
        "round": chosen["round"],
        "checkpoint": str(folder / chosen["checkpoint"]),
        "dev_accuracy": chosen["dev_accuracy"],
        "dev_tokens": chosen["dev_tokens"],
        "tol": tol,
        "accuracy_floor": floor,
        "rounds": len(state.history),
    }
