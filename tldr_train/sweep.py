"""The static-ratio sweep: did re-weighting pay off, or would a fixed mixture have done as well?

A TLDR run finds its ratio on the way; a skeptical user asks whether simply picking a good static ratio does
as well. `sweep` answers that on the user's own models: beside a run it trains the static baseline at several
ratios with the same budget, pools, draws, references and decoding protocol (each a constant-mode run of as
many rounds, starting from the same System-2 model), and with a test set measures the run's picked round and
every ratio's last round on it:

    RUN/sweep/ratio-0.25/                a constant-mode run folder (run.py's layout) at ratio 0.25
    RUN/sweep/ratio-0.25/round-NNN/test/ its last round on the test set (`tldr-train eval`'s folder)
    RUN/round-NNN/test/                  the run's picked round on the same test set

(run.py owns that layout.)
Every part resumes: a ratio's rounds continue where a killed sweep left them, and a finished test
measurement is reused. `frontier` reads one run's sweep back; `compare` summarises one world over several
round seeds (the mean and spread of each ratio, TLDR's pick per seed).
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from tldr_data import done
from tldr_data.errors import ConfigError, InputError
from tldr_train import run
from tldr_train.evaluate import Protocol, evaluate, held_out_point
from tldr_train.pick import choose
from tldr_train.rounds import format_line, run_rounds
from tldr_train.run import DEFAULT_RATIOS, RunState, ratio_folder

METRICS = ("accuracy", "tokens", "hard_accuracy")


def sweep(
    run_dir: str | os.PathLike,
    ratios: Sequence[float] = DEFAULT_RATIOS,
    *,
    rounds: int | None = None,
    test: str | os.PathLike | None = None,
    progress: bool = False,
) -> Iterator[dict[str, Any]]:
    """Train the static baseline at each ratio beside the run; with `test`, measure them and the pick on it.

    Yields each finished round's history entry (with its `ratio`), then each test point (with its `test`
    name: `tldr` for the run's pick, `static R` for a ratio). `rounds` defaults to the run's own number
    of rounds, so every ratio gets the run's training budget.
    """
    base = Path(run_dir)
    state = run.load(base)
    rounds = rounds or len(state.history)
    if rounds < 1:
        raise InputError(f"{base}: no rounds recorded yet; run `tldr-train run --run {base}` first")
    if not ratios or any(not 0.0 <= ratio <= 1.0 for ratio in ratios):
        raise ConfigError(f"--ratio {', '.join(map(str, ratios))}: give short-pool weights in [0, 1]")
    if test is not None and not Path(test).is_file():
        raise InputError(f"--test {test}: no such file; make a test set with `tldr-data problems`")
    for ratio in ratios:
        folder = ratio_folder(base, ratio)
        if not (folder / run.STATE).exists():
            run.save(folder, _static_state(state, ratio))
        for entry in run_rounds(folder, rounds, progress=progress):
            yield {"ratio": ratio, **entry}
    if test is None:
        return
    protocol = Protocol.from_dict(state.config["protocol"])
    picked = choose(state.history, state.references.a_long, state.tol)
    if picked is not None:
        yield {"test": "tldr", **_measure_test(base, picked, test, protocol, progress)}
    for ratio in ratios:
        folder = ratio_folder(base, ratio)
        last = run.load(folder).history[rounds - 1]
        yield {"test": f"static {ratio:g}", **_measure_test(folder, last, test, protocol, progress)}


def format_event(event: dict[str, Any]) -> str:
    """One line per finished round (`ratio R  round ...`) or test point (`test NAME  round N ...`)."""
    if "test" in event:
        return (
            f"test {event['test']}  round {event['round']:03d}  "
            f"accuracy {event['accuracy']:.3f}  tokens {event['tokens']:,.1f}"
        )
    return f"ratio {event['ratio']:g}  {format_line(event)}"


def _static_state(state: RunState, ratio: float) -> RunState:
    """The run's references, settings and seed held at one ratio: the same loop without the update.

    The reference measurements stay in the run's folder; their paths are rewritten relative to the static one.
    """
    measured = state.config.get("reference_runs", {})
    beside = {name: {**m, "verified": str(Path("..", "..", m["verified"]))} for name, m in measured.items()}
    return RunState(
        references=state.references,
        eta=state.eta,
        c=state.c,
        mode="constant",
        alpha0=ratio,
        tol=state.tol,
        seed=state.seed,
        config={**state.config, "reference_runs": beside},
    )


def _measure_test(
    base: Path, entry: dict[str, Any], test: str | os.PathLike, protocol: Protocol, progress: bool
) -> dict[str, Any]:
    """`tldr-train eval` of a round's checkpoint on the test set, kept beside the round (reused when done).

    Returns the round number with the held-out point.
    """
    folder = run.round_folder(base, entry["round"]) / run.TEST
    summary = done.read_done(folder)
    if summary is None:
        summary = evaluate(base / entry["checkpoint"], [test], folder, protocol, progress=progress)
        done.mark_done(folder, summary)
    return {"round": entry["round"], **point(summary, where=str(folder))}


def frontier(run_dir: str | os.PathLike, hard_levels: Sequence[int] = ()) -> dict[str, Any]:
    """One run's sweep read back: every ratio's last round on dev (and test), and the run's pick on test.

    Ratios come sorted by short-pool weight; a test point is None where the sweep ran without a test set.
    """
    base = Path(run_dir)
    state = run.load(base)
    static = []
    for ratio in run.swept_ratios(base):
        folder = ratio_folder(base, ratio)
        history = run.load(folder).history
        if not history:
            continue
        last = history[-1]
        static.append(
            {
                "ratio": ratio,
                "round": last["round"],
                "dev_accuracy": last["dev_accuracy"],
                "dev_tokens": last["dev_tokens"],
                "checkpoint": str(folder / last["checkpoint"]),
                "test": _test_point(folder, last, hard_levels),
            }
        )
    picked = choose(state.history, state.references.a_long, state.tol)
    return {
        "round_seed": state.seed,
        "static": static,
        "tldr": None
        if picked is None
        else {
            "round": picked["round"],
            "dev_accuracy": picked["dev_accuracy"],
            "dev_tokens": picked["dev_tokens"],
            "test": _test_point(base, picked, hard_levels),
        },
    }


def _test_point(base: Path, entry: dict[str, Any], hard_levels: Sequence[int]) -> dict[str, Any] | None:
    """The round's test measurement as accuracy, tokens and hard-level accuracy; None when not measured."""
    folder = run.round_folder(base, entry["round"]) / run.TEST
    summary = done.read_done(folder)
    return None if summary is None else point(summary, hard_levels, str(folder))


def point(summary: dict[str, Any], hard_levels: Sequence[int] = (), where: str = "test") -> dict[str, Any]:
    """An eval summary's held-out point (evaluate.held_out_point) with its accuracy on `hard_levels`.

    `hard_accuracy` weighs each hard level by its problems; None without hard levels.
    """
    held = held_out_point(summary, where)
    hard = [level for level in held["levels"] if level["level"] in set(hard_levels)]
    rows = sum(level["n"] for level in hard)
    hard_accuracy = sum(level["accuracy"] * level["n"] for level in hard) / rows if rows else None
    return {**held, "hard_accuracy": hard_accuracy}


def test_points(frontier: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A frontier's measured test points by name: `static R` for each ratio, `tldr` for the pick."""
    points = {f"static {entry['ratio']:g}": entry["test"] for entry in frontier["static"] if entry["test"]}
    if frontier["tldr"] is not None and frontier["tldr"]["test"] is not None:
        points["tldr"] = frontier["tldr"]["test"]
    return points


def compare(
    runs: Sequence[str | os.PathLike],
    tests: Mapping[str, dict[str, Any]],
    hard_levels: Sequence[int] = (),
) -> dict[str, Any]:
    """One world over several round seeds: each reference model, the mean of each ratio, TLDR per seed.

    `runs` are TLDR run folders with a measured sweep that differ only in their round seed; `tests` maps
    names (system1, system2) to their `tldr-train eval` summaries. Every point is accuracy, mean tokens
    and hard-level accuracy on the test set; static entries hold the mean over the seeds and, under
    `spread`, each metric's standard deviation, minimum and maximum. A seed whose run picked no round
    (none reached the accuracy floor) stays in `tldr` with `round` and metrics null, so TLDR's mean is
    null too: a failure is reported, not averaged away.
    """
    frontiers = [frontier(folder, hard_levels) for folder in runs]
    ratios = sorted({entry["ratio"] for one in frontiers for entry in one["static"]})
    static = []
    for ratio in ratios:
        points = [_static_test(one, ratio, run_dir) for one, run_dir in zip(frontiers, runs, strict=True)]
        static.append({"ratio": ratio, **_mean(points), "spread": _spread(points)})
    tldr = []
    for one, run_dir in zip(frontiers, runs, strict=True):
        if one["tldr"] is None:  # no round reached the floor: a failed seed, kept (no metrics) so it counts
            tldr.append({"round_seed": one["round_seed"], "round": None, **dict.fromkeys(METRICS)})
            continue
        if one["tldr"]["test"] is None:
            raise InputError(
                f"{run_dir}: its picked round has no test measurement; run `tldr-train sweep --test`"
            )
        tldr.append(
            {"round_seed": one["round_seed"], "round": one["tldr"]["round"], **_metrics(one["tldr"]["test"])}
        )
    return {
        **{name: _metrics(point(summary, hard_levels, name)) for name, summary in tests.items()},
        "static": static,
        "tldr": tldr,
    }


def _static_test(one: dict[str, Any], ratio: float, run_dir: str | os.PathLike) -> dict[str, Any]:
    entry = next((entry for entry in one["static"] if entry["ratio"] == ratio), None)
    if entry is None or entry["test"] is None:
        raise InputError(f"{run_dir}: ratio {ratio:g} has no test measurement; run `tldr-train sweep --test`")
    return entry["test"]


def _metrics(point: dict[str, Any]) -> dict[str, Any]:
    return {key: point[key] for key in METRICS}


def _mean(points: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {key: _stat(statistics.fmean, [p[key] for p in points]) for key in METRICS}


def _spread(points: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Each metric's standard deviation (0 for one seed), minimum and maximum over the seeds."""
    spread = {}
    for key in METRICS:
        values = [p[key] for p in points]
        spread[key] = {
            "sd": _stat(lambda v: statistics.stdev(v) if len(v) > 1 else 0.0, values),
            "min": _stat(min, values),
            "max": _stat(max, values),
        }
    return spread


def _stat(fn, values: list[Any]) -> float | None:
    return None if any(value is None for value in values) else fn(values)


def render_compare(summary: Mapping[str, Any]) -> str:
    """Held-out table over round seeds: references, each static ratio (mean ± sd), TLDR per seed and mean."""
    tldr = summary["tldr"]
    lines = [
        f"## Held-out test over {len(tldr)} round seed(s): mean ± standard deviation",
        "",
        "| model | accuracy | mean tokens | hard accuracy |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, value in summary.items():
        if name not in ("static", "tldr"):
            lines.append(_row(name, value))
    for entry in summary["static"]:
        lines.append(_row(f"static {entry['ratio']:g}", entry, entry["spread"]))
    lines.append(_row("TLDR (picked round)", _mean(tldr), _spread(tldr)))
    for entry in tldr:
        picked = "no round reached the floor" if entry["round"] is None else f"round {entry['round']}"
        lines.append(_row(f"TLDR, round seed {entry['round_seed']} ({picked})", entry))
    return "\n".join(lines)


def _row(name: str, value: Mapping[str, Any], spread: Mapping[str, Any] | None = None) -> str:
    formats = {"accuracy": ".3f", "tokens": ",.1f", "hard_accuracy": ".3f"}
    cells = []
    for key, fmt in formats.items():
        if value[key] is None:
            cells.append("-")
            continue
        cell = format(value[key], fmt)
        if spread is not None and spread[key]["sd"] is not None:
            cell += f" ± {format(spread[key]['sd'], fmt)}"
        cells.append(cell)
    return f"| {name} | " + " | ".join(cells) + " |"
