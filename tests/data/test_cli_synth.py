"""`tldr-data synth`: the summary line, --json, --exclude, and one-line usage errors that write nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from tldr_data.cli import cli


def test_synth_writes_levels(tmp_path: Path) -> None:
    out = tmp_path / "problems.parquet"
    args = [
        "synth",
        "-o",
        str(out),
        "--levels",
        "1,3",
        "--per-level",
        "10",
        "--seed",
        "4",
        "--split",
        "test",
    ]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("generated 20 problems (L1 10, L3 10) in ")
    assert result.stdout.rstrip().endswith(f"-> {out}")
    table = pq.read_table(out)
    assert sorted(set(table.column("difficulty").to_pylist())) == [1, 3]
    assert set(table.column("split").to_pylist()) == {"test"}


def test_synth_json_and_exclude(tmp_path: Path) -> None:
    train, dev = tmp_path / "train.parquet", tmp_path / "dev.parquet"
    runner = CliRunner()
    base = ["--levels", "1-2", "--per-level", "30", "--seed", "1"]
    assert runner.invoke(cli, ["synth", "-o", str(train), *base], catch_exceptions=False).exit_code == 0
    result = runner.invoke(
        cli,
        ["synth", "-o", str(dev), *base, "--split", "dev", "--exclude", str(train), "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["rows"], summary["excluded_questions"], summary["split"]) == (60, 60, "dev")
    train_q = set(pq.read_table(train).column("question").to_pylist())
    assert not train_q & set(pq.read_table(dev).column("question").to_pylist())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--levels", "1-x"], "Error: --levels '1-x': expected levels like 1-3 or 1,3"),
        (["--levels", "0-2"], "Error: --levels '0-2': levels start at 1"),
        (["--per-level", "0"], "Error: --per-level must be at least 1, got 0"),
        (["--levels", "1", "--per-level", "800"], "Error: level 1 has only 729 distinct questions left"),
        (["--levels", "2-4"], "Error: levels must be within 1-3, got [2, 3, 4]"),
        (["--exclude", "absent.parquet"], "Error: absent.parquet: no such file or folder"),
    ],
)
def test_synth_usage_errors(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out.parquet"
    result = CliRunner().invoke(cli, ["synth", "-o", str(out), *args])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(message)
    assert not out.exists()


def test_synth_refuses_existing_output(tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    out.write_text("old")
    result = CliRunner().invoke(cli, ["synth", "-o", str(out), "--per-level", "2"])
    assert result.exit_code == 2
    assert "already exists; pass --overwrite" in result.stderr
    assert out.read_text() == "old"
