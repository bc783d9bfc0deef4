"""`tldr-data ratio`: flags, --json, one-line errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tldr_data.cli import cli

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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--refs", "1000,0.3,1000,0.7", "--alpha", "0.5"], "degenerate references: T_l == T_s"),
        (["--refs", REFS, "--alpha", "1.2"], "alpha_short=1.2 is outside (0, 1)"),
        (["--refs", REFS, "--alpha", "0.5", "--eta", "-1"], "eta=-1.0 is negative"),
        (["--refs", "1,2", "--alpha", "0.5"], "expected 4 comma-separated numbers"),
        (["--alpha", "0.5"], "Missing option '--refs'"),
    ],
)
def test_ratio_bad_input_exits_2_with_one_line(args, message) -> None:
    result = CliRunner().invoke(cli, ["ratio", *args, "--acc", "0.5", "--tokens", "3000"])
    assert result.exit_code == 2 and message in result.stderr
    assert "Traceback" not in result.stderr
