"""`tldr-data select`: pool file, summary line, JSON, SQL; bad input exits 2 with one line and no output."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
from click.testing import CliRunner

from tldr_data.cli import cli

ROWS = [
    {"problem_id": "a", "sample_idx": 0, "completion": "long one", "completion_tokens": 90, "correct": True},
    {"problem_id": "a", "sample_idx": 1, "completion": "short", "completion_tokens": 10, "correct": True},
    {"problem_id": "b", "sample_idx": 0, "completion": "no", "completion_tokens": 5, "correct": False},
]


def test_select_shortest_correct(write_rows, tmp_path) -> None:
    out = tmp_path / "pool.parquet"
    result = CliRunner().invoke(
        cli, ["select", str(write_rows(ROWS, "verified")), "-o", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 0
    assert (
        result.stdout.strip()
        == f"kept 1 of 3 rows (1 problems); dropped 1 not_correct, 1 not_shortest -> {out}"
    )
    assert pq.read_table(out)["completion"].to_pylist() == ["short"]
    assert json.loads((tmp_path / "pool.stats.json").read_text())["kept"] == 1


def test_select_all_correct_json_and_sql(write_rows, tmp_path) -> None:
    path = str(write_rows(ROWS, "verified"))
    out = tmp_path / "pool.parquet"
    args = ["select", path, "-o", str(out), "--all-correct", "--max-tokens", "50", "--json"]
    summary = json.loads(CliRunner().invoke(cli, args, catch_exceptions=False).stdout)
    assert (summary["kept"], summary["dropped"]["too_long"]) == (1, 1)
    sql = CliRunner().invoke(cli, ["select", path, "-o", str(out), "--sql"], catch_exceptions=False).stdout
    assert "drop_reason" in sql


def test_select_bad_input(write_rows, tmp_path) -> None:
    out = tmp_path / "pool.parquet"
    for args, message in [
        ([str(tmp_path / "none.parquet")], "no such file or folder"),
        ([str(write_rows([{}], name="traces.parquet"))], "not a `verified` file"),
        ([str(write_rows(ROWS, "verified")), "--where", "nope("], "--where 'nope('"),
    ]:
        result = CliRunner().invoke(cli, ["select", *args, "-o", str(out)])
        assert result.exit_code == 2, args
        assert message in result.stderr and result.stderr.count("\n") == 1
        assert not out.exists()
