"""`tldr-data problems`: success summaries and one-line errors that write nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import BENCHMARKS, requires_shared

from tldr_data.cli import cli


@requires_shared(BENCHMARKS)
def test_all_benchmarks_into_one_file(tmp_path: Path) -> None:
    out = tmp_path / "problems.parquet"
    files = sorted(str(p) for p in BENCHMARKS.iterdir())
    result = CliRunner().invoke(cli, ["problems", *files, "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("imported 10,656 problems (")
    assert "gsm8k_main 8,792" in result.stdout
    assert pq.read_table(out).num_rows == 10656


def test_json_summary(tmp_path: Path) -> None:
    src = tmp_path / "toy_dev.jsonl"
    src.write_text('{"question": "Q1", "answer": "1"}\n{"question": "Q2", "answer": "2"}\n')
    out = tmp_path / "out.parquet"
    result = CliRunner().invoke(cli, ["problems", str(src), "-o", str(out), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["rows"], summary["sources"], summary["duplicates_dropped"]) == (2, {"toy": 2}, 0)
    assert pq.read_table(out).column("split").to_pylist() == ["dev", "dev"]


BAD_INPUTS = {
    "bad_json": (
        "bad.jsonl",
        '{"question": "Q", "answer": "1"}\n{"question": oops}\n',
        r"bad\.jsonl: line 2: bad JSON",
    ),
    "no_question": (
        "noq.jsonl",
        '{"foo": 1, "bar": 2}\n',
        r"noq\.jsonl: no question column .*columns found: foo, bar",
    ),
    "empty": ("empty.jsonl", "", r"empty\.jsonl: empty \(no rows\)"),
    "unknown_extension": ("x.txt", "hello\n", r"x\.txt: unknown extension '\.txt'"),
    "missing": ("absent.parquet", None, r"absent\.parquet: no such file or folder"),
    "no_answer": (
        "noa.jsonl",
        '{"question": "Q", "answer": ""}\n',
        r"noa\.jsonl: row 1: no answer in column 'answer'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_exits_2_with_one_line(case: str, tmp_path: Path) -> None:
    name, content, pattern = BAD_INPUTS[case]
    src = tmp_path / name
    if content is not None:
        src.write_text(content)
    good = tmp_path / "good.jsonl"
    good.write_text('{"question": "Q", "answer": "1"}\n')
    out = tmp_path / "out.parquet"
    result = CliRunner().invoke(cli, ["problems", str(good), str(src), "-o", str(out)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: ")
    assert re.search(pattern, lines[0]), lines[0]
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_existing_output_needs_overwrite(tmp_path: Path) -> None:
    src = tmp_path / "a.jsonl"
    src.write_text('{"question": "Q", "answer": "1"}\n')
    out = tmp_path / "out.parquet"
    out.write_text("old")
    result = CliRunner().invoke(cli, ["problems", str(src), "-o", str(out)])
    assert result.exit_code == 2
    assert "already exists; pass --overwrite" in result.stderr
    assert out.read_text() == "old"
    result = CliRunner().invoke(
        cli, ["problems", str(src), "-o", str(out), "--overwrite"], catch_exceptions=False
    )
    assert result.exit_code == 0
    assert pq.read_table(out).num_rows == 1
