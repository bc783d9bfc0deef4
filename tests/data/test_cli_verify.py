"""`tldr-data verify` and `tldr-data import` from the command line: outputs, summaries, bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.parquet as pq
from click.testing import CliRunner

from tldr_data.cli import cli


def test_verify_writes_verified_and_prints_summary(tmp_path, write_rows, tiny_model) -> None:
    traces = write_rows([{"completion": r"\boxed{1}"}, {"completion": r"\boxed{2}", "sample_idx": 1}])
    out = tmp_path / "verified.parquet"
    result = CliRunner().invoke(
        cli, ["verify", str(traces), "-o", str(out), "--tokenizer", str(tiny_model), "--workers", "1"],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("verified 2 rows in ")
    assert "1 correct, 1 wrong" in result.stdout
    assert pq.read_table(out)["verdict"].to_pylist() == ["correct", "wrong"]
    assert (tmp_path / "verified.stats.json").exists()


def test_verify_json_summary(tmp_path, write_rows, tiny_model) -> None:
    traces = write_rows([{"completion": r"\boxed{1}", "model": str(tiny_model)}])
    result = CliRunner().invoke(
        cli, ["verify", str(traces), "-o", str(tmp_path / "v.parquet"), "--json"], catch_exceptions=False
    )
    assert json.loads(result.stdout)["verdicts"]["correct"] == 1


def test_verify_missing_input(tmp_path) -> None:
    result = CliRunner().invoke(
        cli, ["verify", str(tmp_path / "nope.parquet"), "-o", str(tmp_path / "v.parquet")]
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == f"Error: {tmp_path / 'nope.parquet'}: no such file or folder"
    assert not (tmp_path / "v.parquet").exists()


def test_verify_wrong_contract(tmp_path, tiny_model) -> None:
    import pyarrow as pa

    bad = tmp_path / "problems.parquet"
    pq.write_table(pa.table({"problem_id": ["p"], "answer": ["1"]}), bad)
    result = CliRunner().invoke(cli, ["verify", str(bad), "-o", str(tmp_path / "v.parquet")])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "not a `traces` file, missing column(s): source" in result.stderr
    assert not (tmp_path / "v.parquet").exists()


def test_verify_not_parquet(tmp_path) -> None:
    bad = tmp_path / "traces.parquet"
    bad.write_text("not parquet")
    result = CliRunner().invoke(cli, ["verify", str(bad), "-o", str(tmp_path / "v.parquet")])
    assert result.exit_code == 2
    assert "not a readable Parquet file" in result.stderr


def test_verify_unknown_tokenizer_says_how_to_name_one(tmp_path, write_rows) -> None:
    traces = write_rows([{"model": "org/not-here"}])
    result = CliRunner().invoke(cli, ["verify", str(traces), "-o", str(tmp_path / "v.parquet")])
    assert result.exit_code == 2
    assert "the traces' model org/not-here: no such local folder" in result.stderr
    assert "pass --tokenizer PATH" in result.stderr
    assert not (tmp_path / "v.parquet").exists()


def test_verify_refuses_to_overwrite(tmp_path, write_rows, tiny_model) -> None:
    out = tmp_path / "v.parquet"
    out.write_text("old")
    result = CliRunner().invoke(
        cli, ["verify", str(write_rows([{}])), "-o", str(out), "--tokenizer", str(tiny_model)]
    )
    assert result.exit_code == 2
    assert "pass --overwrite" in result.stderr
    assert out.read_text() == "old"


def test_module_entry_point_runs_verify_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tldr_data", "verify", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "--tokenizer" in result.stdout
