"""A run at a glance: the references, every round, the selected round; as JSON, Markdown and a plot."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tldr_data.atomic import atomic_path
from tldr_data.errors import InputError
from tldr_data.paths import public_path
from tldr_train import evaluate, run, sweep
from tldr_train.pick import choose

ROUND_KEYS = (
    "round",
    "alpha_short",
    "next_alpha_short",
    "dev_accuracy",
    "dev_tokens",
    "checkpoint",
    "mixture",
)


def report(
    run_dir: str | os.PathLike,
    *,
    tol: float | None = None,
    tests: Mapping[str, str | os.PathLike] | None = None,
) -> dict[str, Any]:
    """The run as one JSON-able object; `alpha_short` of a round is the ratio it trained with.

    `tests` names `tldr-train eval --json` outputs (e.g. {"system1": "eval/system1.json"}): each becomes a
    `test` entry, so the held-out numbers of every compared model sit beside the run that produced them.
    Where `tldr-train sweep` ran beside the run, `sweep` holds the static frontier (sweep.frontier), and its
    test measurements join `test` as `static R` and `tldr`.
    """
    state = run.load(run_dir, "short_model", "long_model")
    refs = state.references
    tol = state.tol if tol is None else tol
    chosen = choose(state.history, refs.a_long, tol)
    test = {name: held_out_point(path) for name, path in (tests or {}).items()}
    frontier = sweep.frontier(run_dir) if run.swept_ratios(run_dir) else None
    if frontier is not None:
        test |= sweep.test_points(frontier)
    return {
        "run": str(run_dir),
        "references": {
            "short": {"tokens": refs.t_short, "accuracy": refs.a_short, "model": state.config["short_model"]},
            "long": {"tokens": refs.t_long, "accuracy": refs.a_long, "model": state.config["long_model"]},
        },
        "eta": state.eta,
        "c": state.c,
        "mode": state.mode,
        "alpha0": state.alpha0,
        "tol": tol,
        "accuracy_floor": (1.0 - tol) * refs.a_long,
        "current_alpha_short": state.current_alpha,
        "protocol": state.config["protocol"],
        "rounds": [{key: entry.get(key) for key in ROUND_KEYS} for entry in state.history],
        "selected_round": None if chosen is None else chosen["round"],
        **({"sweep": frontier} if frontier is not None else {}),
        **({"test": test} if test else {}),
    }


def read_eval(path: str | os.PathLike) -> dict[str, Any]:
    """A `tldr-train eval --json` file's summary; an unreadable file is an input error naming it."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise InputError(f"--test {path}: not a `tldr-train eval --json` output ({err})") from None


def held_out_point(path: str | os.PathLike) -> dict[str, Any]:
    """Accuracy and mean tokens (overall and per level) of a one-benchmark `tldr-train eval --json` file."""
    return evaluate.held_out_point(read_eval(path), f"--test {path}")


def render_markdown(summary: dict[str, Any]) -> str:
    """References, then one table row per round, the selected one marked.

    Meant to be shared (a model card, a README): paths appear relative to the run folder, or as bare names,
    never as absolute paths that name local folders.
    """
    short, long = summary["references"]["short"], summary["references"]["long"]
    run_dir = summary["run"]

    def shown(path: str, start: str | None = None) -> str:
        return public_path(path, start) if Path(path).is_absolute() else path

    lines = [
        f"# TLDR run {public_path(run_dir)}",
        "",
        f"mode {summary['mode']}, eta {summary['eta']}, c {summary['c']}, alpha0 {summary['alpha0']}, "
        f"tol {summary['tol']} (accuracy floor {summary['accuracy_floor']:.3f})",
        "",
        "| point | alpha_short | dev accuracy | dev tokens | next alpha_short | checkpoint |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
        *(
            f"| {label} | | {point['accuracy']:.3f} | {point['tokens']:,.1f} | | {shown(point['model'])} |"
            for label, point in (("System-1 (T_s, A_s)", short), ("System-2 (T_l, A_l)", long))
        ),
    ]
    for entry in summary["rounds"]:
        mark = " (selected)" if entry["round"] == summary["selected_round"] else ""
        lines.append(
            f"| round {entry['round']}{mark} | {entry['alpha_short']:.4f} | {entry['dev_accuracy']:.3f} "
            f"| {entry['dev_tokens']:,.1f} | {entry['next_alpha_short']:.4f} "
            f"| {shown(entry['checkpoint'], run_dir)} |"
        )
    selected = summary["selected_round"]
    lines += ["", f"selected: round {selected}" if selected is not None else "no round reaches the floor"]
    if summary.get("sweep"):
        lines += ["", *render_frontier(summary["sweep"])]
    if summary.get("test"):
        lines += ["", *render_test(summary["test"])]
    return "\n".join(lines)


def render_frontier(frontier: dict[str, Any]) -> list[str]:
    """The static frontier (each ratio's last round) beside the run's pick, on dev and on test."""
    lines = [
        "## Static frontier (each ratio's last round) and the picked TLDR round",
        "",
        "| model | dev accuracy | dev tokens | test accuracy | test tokens |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    rows = [(f"static {entry['ratio']:g}", entry) for entry in frontier["static"]]
    if frontier["tldr"] is not None:
        rows.append((f"TLDR (round {frontier['tldr']['round']})", frontier["tldr"]))
    for name, entry in rows:
        test = entry["test"]
        held = "- | -" if test is None else f"{test['accuracy']:.3f} | {test['tokens']:,.1f}"
        lines.append(f"| {name} | {entry['dev_accuracy']:.3f} | {entry['dev_tokens']:,.1f} | {held} |")
    return lines


def render_test(test: dict[str, Any]) -> list[str]:
    """Held-out table: one row per model, overall then each level as `accuracy / tokens`."""
    levels = sorted({level["level"] for point in test.values() for level in point["levels"]})
    lines = [
        "## Held-out test (accuracy / mean completion tokens)",
        "",
        "| model | accuracy | mean tokens | " + " | ".join(f"level {level}" for level in levels) + " |",
        "| --- | ---: | ---: | " + " | ".join("---:" for _ in levels) + " |",
    ]
    for name, point in test.items():
        by_level = {level["level"]: level for level in point["levels"]}
        cells = [
            f"{by_level[level]['accuracy']:.2f} / {by_level[level]['tokens']:,.0f}"
            if level in by_level
            else "-"
            for level in levels
        ]
        lines.append(
            f"| {name} | {point['accuracy']:.3f} | {point['tokens']:,.1f} | " + " | ".join(cells) + " |"
        )
    return lines


def plot(summary: dict[str, Any], path: str | os.PathLike) -> Path:
    """Dev accuracy against dev tokens (references, rounds, the static frontier), alpha_short over rounds and,
    with test points, held-out accuracy against tokens (the static frontier as a line)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    rounds = summary["rounds"]
    test = summary.get("test")
    fig, axes = plt.subplots(1, 3 if test else 2, figsize=(16.5 if test else 11, 4.5))
    pareto, ratio = axes[:2]
    for name, marker in (("short", "s"), ("long", "D")):
        point = summary["references"][name]
        pareto.scatter(point["tokens"], point["accuracy"], marker=marker, s=70, label=f"{name} reference")
    if rounds:
        tokens = [entry["dev_tokens"] for entry in rounds]
        accuracy = [entry["dev_accuracy"] for entry in rounds]
        pareto.plot(tokens, accuracy, "o-", color="tab:gray", alpha=0.6, label="rounds")
        for entry in rounds:
            pareto.annotate(str(entry["round"]), (entry["dev_tokens"], entry["dev_accuracy"]), fontsize=8)
    frontier = summary.get("sweep")
    if frontier:
        _frontier_line(pareto, [(e["ratio"], e["dev_tokens"], e["dev_accuracy"]) for e in frontier["static"]])
    pareto.axhline(summary["accuracy_floor"], linestyle=":", color="tab:red", label="accuracy floor")
    if summary["selected_round"] is not None:
        chosen = next(entry for entry in rounds if entry["round"] == summary["selected_round"])
        pareto.scatter(
            chosen["dev_tokens"],
            chosen["dev_accuracy"],
            s=160,
            facecolors="none",
            edgecolors="tab:red",
            label=f"selected (round {chosen['round']})",
        )
    pareto.set(xlabel="mean dev completion tokens", ylabel="dev accuracy", title="accuracy vs length")
    pareto.legend(fontsize=8)
    # Each round's training ratio, then the ratio the next round will train with.
    numbers = [entry["round"] for entry in rounds]
    numbers.append(numbers[-1] + 1 if numbers else 0)
    alphas = [entry["alpha_short"] for entry in rounds] + [summary["current_alpha_short"]]
    ratio.step(numbers, alphas, where="post", marker="o")
    ratio.xaxis.set_major_locator(MaxNLocator(integer=True))
    ratio.set(xlabel="round", ylabel="alpha_short (short-pool weight)", ylim=(0, 1), title="mixture ratio")
    if test:
        held_out = axes[2]
        if frontier:
            measured = [e for e in frontier["static"] if e["test"]]
            _frontier_line(
                held_out, [(e["ratio"], e["test"]["tokens"], e["test"]["accuracy"]) for e in measured]
            )
        for name, point in test.items():
            held_out.scatter(point["tokens"], point["accuracy"], s=70, label=name)
            held_out.annotate(name, (point["tokens"], point["accuracy"]), fontsize=8)
        held_out.set(xlabel="mean test completion tokens", ylabel="test accuracy", title="held-out test")
        held_out.legend(fontsize=8)
    fig.tight_layout()
    target = Path(path)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return target


def _frontier_line(axes, points: list[tuple[float, float, float]]) -> None:
    """The static ratios as one line of (tokens, accuracy) points, each labelled with its ratio."""
    if not points:
        return
    axes.plot([p[1] for p in points], [p[2] for p in points], "s--", color="tab:green", label="static ratios")
    for ratio, tokens, accuracy in points:
        axes.annotate(f"{ratio:g}", (tokens, accuracy), fontsize=8, color="tab:green")
