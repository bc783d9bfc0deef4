"""`tldr-data profile`: table, JSON, plot, SQL; bad input exits 2 with one line."""

from __future__ import annotations

import json

from click.testing import CliRunner

from tldr_data.cli import cli
from tldr_data.profile import METRICS

ROWS = [
    {"problem_id": "a", "source": "gsm8k", "correct": True, "verdict": "correct", "completion_tokens": 100},
    {"problem_id": "a", "source": "gsm8k", "correct": False, "verdict": "timeout", "completion_tokens": 300},
    {"problem_id": "b", "source": "gsm8k", "correct": False, "verdict": "wrong", "completion_tokens": 200},
    {"problem_id": "b", "source": "gsm8k", "correct": False, "verdict": "error", "completion_tokens": 400},
]


def test_profile_json_and_plot(write_rows, tmp_path) -> None:
    plot = tmp_path / "lengths.png"
    args = [
        "profile",
        str(write_rows(ROWS, contract="verified")),
        "--by",
        "source",
        "--json",
        "--plot",
        str(plot),
    ]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0
    (row,) = json.loads(result.stdout)
    assert set(row) == {"source", *METRICS}
    assert (row["n"], row["accuracy"], row["mean_tokens"], row["max_tokens"]) == (4, 0.25, 250.0, 400)
    assert row["pass_at_k"] == 0.5  # problem a: pass@2 = 1, problem b: 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_profile_table_and_sql(write_rows) -> None:
    path = str(write_rows(ROWS, contract="verified"))
    table = CliRunner().invoke(cli, ["profile", path], catch_exceptions=False).stdout.splitlines()
    assert table[0].split() == ["system", "source", *METRICS]
    assert table[1].split()[:3] == ["system2", "gsm8k", "4"]
    sql = CliRunner().invoke(cli, ["profile", path, "--sql"], catch_exceptions=False).stdout
    assert "quantile_cont" in sql and "read_parquet" in sql


def test_profile_bad_input(write_rows, tmp_path) -> None:
    missing = CliRunner().invoke(cli, ["profile", str(tmp_path / "none.parquet")])
    assert missing.exit_code == 2 and missing.stderr.count("\n") == 1 and "no such file" in missing.stderr
    traces = CliRunner().invoke(cli, ["profile", str(write_rows([{}]))])
    assert traces.exit_code == 2 and "not a `verified` file" in traces.stderr
    plot = tmp_path / "p.png"
    by = CliRunner().invoke(
        cli, ["profile", str(write_rows(ROWS, "verified", "v.parquet")), "--by", "x", "--plot", str(plot)]
    )
    assert by.exit_code == 2 and "unknown column(s) x" in by.stderr
    assert not plot.exists()
