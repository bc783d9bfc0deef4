"""`tldr-data generate` and `tldr-data backends`: summaries, one-line errors, and resume after kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from tldr_data.cli import cli


@pytest.fixture
def problems_path(tmp_path: Path) -> Path:
    rows = [
        {
            "problem_id": f"p{i:02d}",
            "source": "toy",
            "question": f"What is {i} * 2?",
            "answer": str(2 * i),
            "difficulty": None,
            "split": "train",
        }
        for i in range(12)
    ]
    path = tmp_path / "problems.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def rows(folder: Path) -> list[dict]:
    table = pa.concat_tables([pq.read_table(p) for p in folder.glob("*.parquet")])
    return sorted(table.to_pylist(), key=lambda r: (r["problem_id"], r["sample_idx"]))


def test_generate_writes_shards_and_a_summary(tiny_model: Path, problems_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "traces"
    args = [
        "generate",
        "-m",
        str(tiny_model),
        "-i",
        str(problems_path),
        "-o",
        str(out),
        "--system",
        "system1",
        "-n",
        "2",
        "--backend",
        "fake",
        "--batch-size",
        "10",
        "--temperature",
        "0.5",
        "--max-tokens",
        "64",
    ]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0
    assert result.stdout.startswith("generated 24 rows (0 already there) for 12 problems, ")
    assert f"-> {out}" in result.stdout
    assert len(rows(out)) == 24 and len(list(out.glob("*.parquet"))) == 3
    again = CliRunner().invoke(cli, [*args, "--json"], catch_exceptions=False)
    summary = json.loads(again.stdout)
    assert summary["rows_written"] == 0 and summary["rows_skipped"] == 24


def test_backend_options_reach_the_engine(tiny_model, problems_path, tmp_path) -> None:
    out = tmp_path / "traces"
    result = CliRunner().invoke(
        cli,
        [
            "generate",
            "-m",
            str(tiny_model),
            "-i",
            str(problems_path),
            "-o",
            str(out),
            "--system",
            "s",
            "--backend",
            "fake",
            "-O",
            "answer=17",
            "--limit",
            "3",
            "--instruction",
            "",
            "--json",
        ],
        catch_exceptions=False,
    )
    assert json.loads(result.stdout)["rows_written"] == 3
    assert all(r["completion"].endswith("\\boxed{17}") for r in rows(out))
    assert "\n\n" not in rows(out)[0]["prompt"]


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (["-n", "0"], 2, "Error: -n must be at least 1 (got 0)"),
        (
            ["--backend", "nope"],
            2,
            "Error: unknown backend 'nope'; known backends: vllm, transformers, openai, fake",
        ),
        (["--part", "3/2"], 2, "Error: --part must be I/K with 0 <= I < K (got 3/2)"),
        (["-O", "words"], 2, "'words' is not KEY=VALUE"),
        (
            ["--backend", "openai", "--base-url", "http://127.0.0.1:9/v1"],
            1,
            "Error: cannot reach http://127.0.0.1:9/v1",
        ),
    ],
)
def test_bad_usage_is_one_line_and_writes_nothing(
    tiny_model, problems_path, tmp_path, extra, code, message
) -> None:
    out = tmp_path / "traces"
    args = ["generate", "-m", str(tiny_model), "-i", str(problems_path), "-o", str(out), "--system", "s"]
    result = CliRunner().invoke(cli, [*args, "--backend", "fake", *extra])
    assert result.exit_code == code
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_missing_input_and_mixed_settings_exit_2(tiny_model, problems_path, tmp_path) -> None:
    out = tmp_path / "traces"
    base = ["generate", "-m", str(tiny_model), "-o", str(out), "--system", "s", "--backend", "fake"]
    missing = CliRunner().invoke(cli, [*base, "-i", str(tmp_path / "nope.parquet")])
    assert missing.exit_code == 2 and "nope.parquet: no such file or folder" in missing.stderr
    assert not out.exists()
    CliRunner().invoke(cli, [*base, "-i", str(problems_path)], catch_exceptions=False)
    mixed = CliRunner().invoke(cli, [*base, "-i", str(problems_path), "--max-tokens", "9"])
    assert mixed.exit_code == 2
    assert "(max_tokens: 4096 there, 9 now); use another output folder, or pass --allow-mixed" in mixed.stderr


def test_backends_lists_names_and_capabilities() -> None:
    result = CliRunner().invoke(cli, ["backends", "--json"], catch_exceptions=False)
    listing = json.loads(result.stdout)
    assert [b["name"] for b in listing["backends"]] == ["vllm", "transformers", "openai", "fake"]
    assert listing["default"] == "vllm"
    assert listing["backends"][0]["options"]["tensor_parallel_size"] == 1


@pytest.mark.slow
def test_a_run_killed_mid_way_resumes_to_the_uninterrupted_result(
    tiny_model, problems_path, tmp_path
) -> None:
    def command(out: Path, delay: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "tldr_data",
            "generate",
            "-m",
            str(tiny_model),
            "-i",
            str(problems_path),
            "-o",
            str(out),
            "--system",
            "system2",
            "-n",
            "3",
            "--backend",
            "fake",
            "--batch-size",
            "4",
            "-O",
            f"delay={delay}",
        ]

    killed = tmp_path / "killed"
    # One second per batch: a poll that a loaded machine delays still catches the run mid-way.
    proc = subprocess.Popen(command(killed, "1"), env=os.environ.copy(), stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(list(killed.glob("*.parquet"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    shards_at_kill = len(list(killed.glob("*.parquet")))
    assert 3 <= shards_at_kill < 9, "the run was killed mid-way"
    resumed = subprocess.run(
        [*command(killed, "0"), "--json"], env=os.environ.copy(), capture_output=True, check=True
    )
    assert json.loads(resumed.stdout)["rows_skipped"] >= 12
    reference = tmp_path / "reference"
    subprocess.run(command(reference, "0"), env=os.environ.copy(), capture_output=True, check=True)
    assert len(rows(killed)) == 36
    assert rows(killed) == rows(reference)
