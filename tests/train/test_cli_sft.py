"""`tldr-train sft` and `python -m tldr_train.sft`: a short run, HF flags forwarded, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from tldr_data.done import done_path
from tldr_train.cli import cli


@pytest.mark.slow
def test_sft_trains_forwards_hf_flags_and_reruns_as_a_no_op(
    tiny_model: Path, sft_mixture: Path, tmp_path: Path
) -> None:
    output = tmp_path / "ckpt"
    args = ["sft", "-m", str(tiny_model), "-d", str(sft_mixture), "-o", str(output), "--max-steps", "3"]
    args += ["--batch-size", "4", "--max-length", "64", "--lr", "1e-3", "--lr_scheduler_type", "constant"]
    result = CliRunner().invoke(cli, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["steps"] == 3 and summary["train_tokens"] > 0 and summary["final_loss"] > 0
    config = json.loads((output / "tldr_sft_config.json").read_text())["training"]
    assert config["lr_scheduler_type"] == "constant" and config["learning_rate"] == 1e-3
    assert (output / "model.safetensors").exists() and done_path(output).exists()
    again = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert again.exit_code == 0
    assert again.stdout.strip() == f"{output} already holds a finished training (3 steps); nothing to do"


def test_missing_dataset_is_exit_2_one_line_no_output(tiny_model: Path, tmp_path: Path) -> None:
    output = tmp_path / "ckpt"
    args = ["sft", "-m", str(tiny_model), "-d", str(tmp_path / "absent"), "-o", str(output)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"Error: dataset {tmp_path / 'absent'}: no such folder or file; "
        "pass a mixture folder or a Parquet/JSONL file"
    ]
    assert not output.exists()


def test_dataset_without_prompt_completion_is_exit_2(tiny_model: Path, tmp_path: Path) -> None:
    pq.write_table(pa.table({"question": ["q"], "answer": ["a"]}), tmp_path / "problems.parquet")
    output = tmp_path / "ckpt"
    args = ["sft", "-m", str(tiny_model), "-d", str(tmp_path / "problems.parquet"), "-o", str(output)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "missing column(s) prompt, completion (has question, answer)" in errors[0]
    assert not output.exists()


def test_unknown_hf_flag_is_exit_2(tiny_model: Path, tmp_path: Path) -> None:
    args = [
        "sft",
        "-m",
        str(tiny_model),
        "-d",
        str(tmp_path),
        "-o",
        str(tmp_path / "o"),
        "--no_such_flag",
        "1",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: sft: ") and "no_such_flag" in result.stderr


@pytest.mark.slow
def test_python_m_entry_point_reports_bad_input_in_one_line(tiny_model: Path, tmp_path: Path) -> None:
    argv = ["--model_name_or_path", str(tiny_model), "--dataset", str(tmp_path / "absent")]
    argv += ["--output_dir", str(tmp_path / "o")]
    done = subprocess.run([sys.executable, "-m", "tldr_train.sft", *argv], capture_output=True, text=True)
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith(f"Error: dataset {tmp_path / 'absent'}: no such folder or file")
    )
    assert not (tmp_path / "o").exists()
