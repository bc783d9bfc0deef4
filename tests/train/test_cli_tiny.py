"""`tldr-train tiny`: success writes a loadable folder; bad input exits 2 with one line and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tldr_train.cli import cli


def test_tiny_writes_model_and_prints_json(tmp_path: Path) -> None:
    out = tmp_path / "tiny"
    args = ["tiny", "-o", str(out), "--hidden", "64", "--layers", "1", "--vocab-size", "500", "--json"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["layers"] == 1 and summary["parameters"] > 0 and summary["path"] == str(out)
    config = json.loads((out / "config.json").read_text())
    assert config["model_type"] == "qwen2" and config["num_hidden_layers"] == 1
    assert (out / "tokenizer.json").exists() and (out / "chat_template.jinja").exists()


def test_tiny_human_summary(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["tiny", "-o", str(tmp_path / "m")], catch_exceptions=False)
    assert result.exit_code == 0
    assert result.stdout.startswith("built tiny Qwen2 (") and str(tmp_path / "m") in result.stdout


def test_tiny_bad_heads_is_exit_2_one_line_no_output(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["tiny", "-o", str(tmp_path / "m"), "--heads", "5"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "Error: --hidden 64 is not divisible by --heads 5; pick heads dividing hidden"
    ]
    assert not (tmp_path / "m").exists()


def test_tiny_missing_corpus_is_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["tiny", "-o", str(tmp_path / "m"), "--corpus", str(tmp_path / "no.txt")]
    )
    assert result.exit_code == 2
    assert "no.txt does not exist" in result.stderr
    assert not (tmp_path / "m").exists()
