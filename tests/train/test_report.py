"""tldr_train.pick and tldr_train.report on a recorded run state (no models needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tldr_data.errors import InputError
from tldr_data.ratio import References
from tldr_train.evaluate import Protocol
from tldr_train.pick import NoRoundQualifiesError, choose, pick
from tldr_train.report import plot, render_markdown, report
from tldr_train.run import RunState

# (dev accuracy, dev tokens) per round; A_l = 0.8, so tol 0.3 puts the floor at 0.56.
ROUNDS = [(0.78, 900.0), (0.70, 600.0), (0.50, 300.0), (0.60, 450.0)]


def write_run(folder: Path, rounds=ROUNDS) -> Path:
    state = RunState(references=References(200.0, 0.3, 1000.0, 0.8), tol=0.3)
    state.config = {
        "short_model": "s1",
        "long_model": "s2",
        "protocol": Protocol(backend="transformers").to_dict(),
    }
    for number, (acc, tokens) in enumerate(rounds):
        state.record(
            acc,
            tokens,
            round=number,
            checkpoint=f"round-{number:03d}/ckpt",
            mixture=f"round-{number:03d}/mix",
        )
    state.save(folder / "state.json")
    return folder


def test_choose_takes_the_fewest_tokens_above_the_floor():
    history = [{"round": i, "dev_accuracy": a, "dev_tokens": t} for i, (a, t) in enumerate(ROUNDS)]
    assert choose(history, 0.8, 0.3)["round"] == 3
    assert choose(history, 0.8, 0.0) is None
    assert choose(history, 0.8, 0.15)["round"] == 1
    assert choose(history, 0.8, 1.0)["round"] == 2
    tied = history + [{"round": 4, "dev_accuracy": 0.9, "dev_tokens": 450.0}]
    assert choose(tied, 0.8, 0.3)["round"] == 3


def test_pick_reports_the_round_and_its_checkpoint(tmp_path: Path):
    chosen = pick(write_run(tmp_path))
    assert chosen["round"] == 3
    assert chosen["checkpoint"] == str(tmp_path / "round-003" / "ckpt")
    assert chosen["accuracy_floor"] == pytest.approx(0.56)


def test_pick_says_when_no_round_qualifies(tmp_path: Path):
    write_run(tmp_path)
    with pytest.raises(
        NoRoundQualifiesError, match=r"no round reaches dev accuracy 0.800 .* best is round 0"
    ):
        pick(tmp_path, tol=0.0)
    with pytest.raises(InputError, match="--tol 1.5"):
        pick(tmp_path, tol=1.5)


def test_pick_needs_rounds(tmp_path: Path):
    write_run(tmp_path, rounds=[])
    with pytest.raises(InputError, match="no rounds recorded yet"):
        pick(tmp_path)


def test_report_lists_references_rounds_and_the_selection(tmp_path: Path):
    summary = report(write_run(tmp_path))
    assert summary["references"]["short"] == {"tokens": 200.0, "accuracy": 0.3, "model": "s1"}
    assert summary["references"]["long"]["tokens"] == 1000.0
    assert (summary["eta"], summary["c"], summary["selected_round"]) == (4.0, 1e-4, 3)
    rounds = summary["rounds"]
    assert [r["round"] for r in rounds] == [0, 1, 2, 3]
    assert rounds[0]["alpha_short"] == 0.5
    assert all(
        later["alpha_short"] == earlier["next_alpha_short"]
        for earlier, later in zip(rounds, rounds[1:], strict=False)
    )
    assert (rounds[2]["checkpoint"], rounds[2]["mixture"]) == ("round-002/ckpt", "round-002/mix")
    assert report(tmp_path, tol=0.0)["selected_round"] is None
    table = render_markdown(summary)
    assert "| round 3 (selected) |" in table and "| System-2 (T_l, A_l) |" in table
    assert table.count("\n| round ") == 4


def test_plot_writes_a_png(tmp_path: Path):
    summary = report(write_run(tmp_path))
    target = plot(summary, tmp_path / "pareto.png")
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (tmp_path / "new").mkdir()
    assert plot(report(write_run(tmp_path / "new", rounds=[])), tmp_path / "new.png").stat().st_size > 0
