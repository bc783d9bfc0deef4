"""vLLM under faults: an engine process killed mid-batch ends `generate` with one line, and nothing is lost.

On GPUs vLLM runs its engine in a child process. When that process dies (killed, out of memory), vLLM 0.32's
sync client would leave `generate` waiting forever; the backend turns the death into a one-line runtime error,
and the same command then resumes to what an uninterrupted run writes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.slow

PROBLEMS = 24
BATCH = 4


@pytest.fixture
def problems(tmp_path: Path) -> Path:
    path = tmp_path / "problems.parquet"
    rows = [
        {
            "problem_id": f"q{i:02d}",
            "source": "toy",
            "question": f"What is {i} + {i + 1}?",
            "answer": str(2 * i + 1),
            "difficulty": 1,
            "split": "test",
        }
        for i in range(PROBLEMS)
    ]
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def command(model: Path, problems: Path, out: Path) -> list[str]:
    # The random tiny model never stops: every completion runs to 256 tokens (about 1 s per batch of 4).
    return [
        sys.executable, "-m", "tldr_data", "generate", "-m", str(model), "-i", str(problems), "-o", str(out),
        "--system", "s", "--temperature", "0", "--max-tokens", "256", "--batch-size", str(BATCH),
        "--backend", "vllm", "-O", "dtype=float32", "-O", "max_model_len=512",
    ]  # fmt: skip


def rows(folder: Path) -> list[dict]:
    table = pa.concat_tables([pq.read_table(p) for p in sorted(folder.glob("*.parquet"))])
    return sorted(table.drop(["gen_config"]).to_pylist(), key=lambda r: r["problem_id"])


def engine_process(parent: psutil.Process) -> psutil.Process | None:
    for child in parent.children(recursive=True):
        try:
            if "EngineCore" in child.name() or "EngineCore" in " ".join(child.cmdline()):
                return child
        except psutil.NoSuchProcess:
            continue
    return None


def test_an_engine_killed_mid_batch_fails_in_one_line_and_resumes(tiny_model, problems, tmp_path) -> None:
    killed = tmp_path / "killed"
    multiprocess = {**os.environ, "VLLM_ENABLE_V1_MULTIPROCESSING": "1"}
    proc = subprocess.Popen(command(tiny_model, problems, killed), env=multiprocess, stderr=subprocess.PIPE)
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 400
    while not list(killed.glob("*.parquet")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    engine = engine_process(parent)
    assert engine is not None, "no vLLM engine process found"
    engine.kill()
    try:
        _, stderr = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("generate still waits for a dead engine after 120 s")
    shards_at_kill = len(list(killed.glob("*.parquet")))
    assert 1 <= shards_at_kill < PROBLEMS // BATCH, "the engine was killed mid-way"
    assert proc.returncode == 1
    # vLLM's own log lines and multiprocessing's note on the dead process's semaphores surround the one error.
    errors = [line for line in stderr.decode().splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, stderr.decode()[-3000:]
    assert errors[0].startswith("Error: vllm: the engine process died during a batch")
    assert f"{shards_at_kill * BATCH} finished rows are kept" in errors[0]
    assert "Traceback" not in stderr.decode()

    subprocess.run(command(tiny_model, problems, killed), capture_output=True, check=True)
    reference = tmp_path / "reference"
    subprocess.run(command(tiny_model, problems, reference), capture_output=True, check=True)
    assert len(rows(killed)) == PROBLEMS
    assert rows(killed) == rows(reference)
