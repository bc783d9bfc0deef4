"""kill -9 during `sft` and `eval`, then the same command again: nothing lost, nothing doubled, one result."""

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

from tldr_data.schema import PROBLEMS

REPO = Path(__file__).resolve().parents[2]


def start(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-c", "from tldr_train.cli import cli; cli()", *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def kill_when(process: subprocess.Popen, ready, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        assert process.poll() is None, "finished before it could be killed"
        assert time.monotonic() < deadline, "never reached the point to kill at"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()


@pytest.mark.slow
def test_sft_killed_mid_training_resumes_from_its_last_complete_checkpoint(tiny_model, sft_mixture, tmp_path):
    out = tmp_path / "ckpt"
    args = ["sft", "-m", str(tiny_model), "-d", str(sft_mixture), "-o", str(out), "--max-steps", "10"]
    args += ["--batch-size", "4", "--max-length", "64", "--lr", "1e-3", "--save_steps", "2", "--json"]
    kill_when(start(args), lambda: (out / "checkpoint-2" / "trainer_state.json").is_file())
    (out / "checkpoint-100").mkdir()  # as a kill while saving leaves it: no trainer_state.json
    (out / "checkpoint-100" / "model.safetensors").write_bytes(b"half")
    again = start(args)
    summary = json.loads(again.communicate(timeout=300)[0])
    assert again.returncode == 0
    assert summary["steps"] == 10 and summary["resumed_from"].startswith(str(out / "checkpoint-"))
    assert int(summary["resumed_from"].rsplit("-", 1)[1]) >= 2
    assert not (out / "checkpoint-100").exists() and (out / "model.safetensors").is_file()


@pytest.mark.slow
def test_eval_killed_mid_way_then_rerun_counts_every_sample_once(tiny_model, tmp_path):
    bench = tmp_path / "bench.parquet"
    rows = [{"problem_id": f"p{i}", "question": f"What is {i} + 1?", "answer": str(i + 1)} for i in range(24)]
    pq.write_table(pa.Table.from_pylist(rows, schema=PROBLEMS), bench)
    out = tmp_path / "eval"
    args = ["eval", "-m", str(tiny_model), "--bench", str(bench), "-o", str(out), "-n", "2"]
    args += ["--temperature", "0", "--max-tokens", "48", "--backend", "transformers", "--json"]
    kill_when(start(args), lambda: (out / "bench" / ".traces.lock").exists())
    again = start(args)
    summary = json.loads(again.communicate(timeout=300)[0])
    assert again.returncode == 0
    assert summary["benchmarks"]["bench"]["n"] == 48
    traces = pa.concat_tables(pq.read_table(p) for p in (out / "bench" / "traces").glob("*.parquet"))
    keys = list(zip(traces["problem_id"].to_pylist(), traces["sample_idx"].to_pylist(), strict=True))
    assert len(keys) == len(set(keys)) == 48
    assert not [p for p in out.rglob(".*") if p.name.endswith((".tmp", ".lock"))]
