"""`tldr-data ratio`: flags, --json, and appending to a run state."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tldr_data.cli import cli
from tldr_data.ratio import References
from tldr_data.runstate import RunState

REFS = "1120.943,0.2890625,7379.605,0.755859"


def test_ratio_json() -> None:
    args = ["ratio", "--refs", REFS, "--alpha", "0.5", "--acc", "0.60", "--tokens", "7000", "--json"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    summary = json.loads(result.stdout)
    assert summary["alpha_short"] == pytest.approx(0.9184, abs=1e-4)
    assert summary["alpha_short"] + summary["alpha_long"] == pytest.approx(1.0)
    assert {"b_short", "b_long"} <= set(summary)


def test_ratio_human_line_and_constant_mode() -> None:
    args = [
        "ratio",
        "--refs",
        REFS,
        "--alpha",
        "0.3",
        "--acc",
        "0.45",
        "--tokens",
        "2000",
        "--mode",
        "constant",
    ]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.stdout.startswith("alpha_short 0.300000  alpha_long 0.700000")


def test_ratio_state_appends_history(tmp_path) -> None:
    path = tmp_path / "state.json"
    RunState(references=References(1120.943, 0.2890625, 7379.605, 0.755859)).save(path)
    runner = CliRunner()
    first = runner.invoke(cli, ["ratio", "--state", str(path), "--acc", "0.6", "--tokens", "7000", "--json"])
    second = runner.invoke(
        cli, ["ratio", "--state", str(path), "--acc", "0.45", "--tokens", "2000", "--json"]
    )
    assert first.exit_code == second.exit_code == 0
    history = RunState.load(path).history
    assert [entry["round"] for entry in history] == [0, 1]
    assert history[1]["alpha_short"] == json.loads(first.stdout)["alpha_short"]
    assert json.loads(second.stdout)["alpha_short"] == history[1]["next_alpha_short"]


def test_ratio_state_rejects_conflicting_flags_by_name(tmp_path) -> None:
    path = tmp_path / "state.json"
    RunState(references=References(1000, 0.3, 7000, 0.7)).save(path)
    before = path.read_text()
    args = ["ratio", "--state", str(path), "--alpha", "0.5", "--eta", "2", "--acc", "0.5", "--tokens", "10"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and "--alpha, --eta cannot be combined with --state" in result.stderr
    assert path.read_text() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--refs", "1000,0.3,1000,0.7", "--alpha", "0.5"], "degenerate references: T_l == T_s"),
        (["--refs", REFS, "--alpha", "1.2"], "alpha_short=1.2 is outside (0, 1)"),
        (["--refs", REFS, "--alpha", "0.5", "--eta", "-1"], "eta=-1.0 is negative"),
        (["--refs", "1,2", "--alpha", "0.5"], "expected 4 comma-separated numbers"),
        (["--alpha", "0.5"], "--refs required without --state"),
    ],
)
def test_ratio_bad_input_exits_2_with_one_line(args, message) -> None:
    result = CliRunner().invoke(cli, ["ratio", *args, "--acc", "0.5", "--tokens", "3000"])
    assert result.exit_code == 2 and message in result.stderr
    assert "Traceback" not in result.stderr
