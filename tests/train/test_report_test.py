"""report --test: held-out `tldr-train eval --json` results join the report as `test` points and a table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tldr_data.errors import InputError
from tldr_train.cli import cli
from tldr_train.report import held_out_point, render_test


def eval_json(path: Path, accuracy: float, tokens: float, benches: tuple[str, ...] = ("test",)) -> Path:
    """An eval summary shaped like `tldr-train eval --json` prints it."""
    levels = [
        {"difficulty": 2, "n": 5, "accuracy": 1.0, "mean_tokens": tokens / 2},
        {"difficulty": 6, "n": 5, "accuracy": accuracy / 2, "mean_tokens": tokens * 1.5},
    ]
    bench = {"n": 10, "accuracy": accuracy, "mean_tokens": tokens, "levels": levels}
    path.write_text(json.dumps({"model": f"models/{path.stem}", "benchmarks": dict.fromkeys(benches, bench)}))
    return path


def test_point_keeps_accuracy_tokens_and_levels(tmp_path: Path) -> None:
    point = held_out_point(eval_json(tmp_path / "tldr.json", 0.9, 40.0))
    assert point == {
        "accuracy": 0.9,
        "tokens": 40.0,
        "model": "models/tldr",
        "benchmark": "test",
        "levels": [
            {"level": 2, "n": 5, "accuracy": 1.0, "tokens": 20.0},
            {"level": 6, "n": 5, "accuracy": 0.45, "tokens": 60.0},
        ],
    }


def test_point_rejects_several_benchmarks_and_non_eval_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="holds 2 benchmarks"):
        held_out_point(eval_json(tmp_path / "two.json", 0.5, 10.0, ("a", "b")))
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(InputError, match="not a `tldr-train eval --json` output"):
        held_out_point(bad)


def test_render_test_has_a_row_per_model_and_a_column_per_level(tmp_path: Path) -> None:
    test = {
        "system2": held_out_point(eval_json(tmp_path / "system2.json", 0.95, 100.0)),
        "tldr": held_out_point(eval_json(tmp_path / "tldr.json", 0.94, 40.0)),
    }
    lines = render_test(test)
    assert "| model | accuracy | mean tokens | level 2 | level 6 |" in lines
    assert "| tldr | 0.940 | 40.0 | 1.00 / 20 | 0.47 / 60 |" in lines


def test_cli_rejects_a_test_without_a_name(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["report", "--run", str(tmp_path), "--test", "eval.json"])
    assert result.exit_code == 2
    assert "expected NAME=EVAL.json" in result.output
