"""Writers of shared outputs against a second process and kill -9: nothing duplicated, nothing left behind."""

from __future__ import annotations

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

from tldr_data.atomic import atomic_dir, write_parquet
from tldr_data.cli import cli
from tldr_data.lock import BusyError, lock_path, output_lock
from tldr_data.schema import PROBLEMS

REPO = Path(__file__).resolve().parents[2]


def spawn(code: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE, text=True)


def wait_for(path: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_lock_is_exclusive_shared_and_released_by_a_killed_holder(tmp_path) -> None:
    target = tmp_path / "out"
    with output_lock(target):
        with pytest.raises(BusyError, match=f"{target}: another process \\(pid {os.getpid()}\\)"):
            with output_lock(target):
                pass
    assert not lock_path(target).exists()
    with output_lock(target, shared=True), output_lock(target, shared=True):
        with pytest.raises(BusyError):
            with output_lock(target):
                pass
    holder = spawn(
        "import time; from tldr_data.lock import output_lock\n"
        f"with output_lock({str(target)!r}):\n    print(flush=True); time.sleep(60)"
    )
    try:
        wait_for(lock_path(target))
        time.sleep(0.2)
        with pytest.raises(BusyError, match=f"pid {holder.pid}"):
            with output_lock(target):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with output_lock(target):
        pass
    assert not lock_path(target).exists()


def test_two_generate_processes_into_one_folder_do_not_duplicate(tmp_path, tiny_model) -> None:
    problems = tmp_path / "problems.parquet"
    rows = [{"problem_id": f"p{i}", "question": f"What is {i}?", "answer": str(i)} for i in range(8)]
    pq.write_table(pa.Table.from_pylist(rows, schema=PROBLEMS), problems)
    out = tmp_path / "traces"
    args = ["generate", "-m", str(tiny_model), "-i", str(problems), "-o", str(out), "--system", "s2"]
    args += ["-n", "2", "--batch-size", "4", "--backend", "fake", "-O", "delay=0.3"]
    first = spawn(f"from tldr_data.cli import cli; cli({args!r})")
    wait_for(lock_path(out))
    time.sleep(0.5)
    second = CliRunner().invoke(cli, args)
    assert second.exit_code == 1 and second.stderr.count("\n") == 1
    assert f"{out}: another process (pid {first.pid}) is writing it" in second.stderr
    assert first.wait(timeout=120) == 0, first.stderr.read()
    table = pa.concat_tables(pq.read_table(p) for p in out.glob("*.parquet"))
    keys = list(zip(table["problem_id"].to_pylist(), table["sample_idx"].to_pylist(), strict=True))
    assert len(keys) == len(set(keys)) == 16
    parts = [*args[:-4], "--part", "0/2", "--allow-mixed"]
    assert CliRunner().invoke(cli, parts).exit_code == 0
    with output_lock(out, name=f"{out.name}.part-1-of-2"):
        busy = CliRunner().invoke(cli, [*args[:-4], "--part", "1/2"])
    assert busy.exit_code == 1 and "another process" in busy.stderr
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())


def test_killed_folder_writer_leaves_nothing_the_next_run_keeps(tmp_path, make_pool) -> None:
    """kill -9 inside atomic_dir (where mix writes), then the same mix: one whole folder, no leftovers."""
    out = tmp_path / "mix"
    writer = spawn(
        "import time; from tldr_data.atomic import atomic_dir\n"
        f"with atomic_dir({str(out)!r}) as tmp:\n"
        "    (tmp / 'half.parquet').write_bytes(b'PAR1'); print(flush=True); time.sleep(60)"
    )
    wait_for(lock_path(out))
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob(".mix.*.tmp/half.parquet")):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert not out.exists() and list(tmp_path.glob(".mix.*.tmp"))
    short, long = make_pool("short", 6), make_pool("long", 6)
    args = [
        "mix",
        "--short",
        str(short),
        "--long",
        str(long),
        "--ratio",
        "0.5",
        "--size",
        "4",
        "-o",
        str(out),
    ]
    assert CliRunner().invoke(cli, args).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mix", "mix.done.json", "pools"]
    assert sorted(p.name for p in out.rglob("*")) == ["README.md", "data", "train-00000-of-00001.parquet"]


def test_killed_file_writer_leaves_a_temporary_the_next_write_deletes(tmp_path) -> None:
    target = tmp_path / "pool.parquet"
    writer = spawn(
        "import time; from tldr_data.atomic import atomic_path\n"
        f"with atomic_path({str(target)!r}) as tmp:\n    tmp.write_bytes(b'half'); time.sleep(60)"
    )
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob(".pool.parquet.*.tmp")):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    write_parquet(pa.table({"a": [1]}), target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pool.parquet"]


def test_a_second_folder_writer_fails_at_once_and_the_first_completes(tmp_path) -> None:
    out = tmp_path / "mix"
    with atomic_dir(out) as tmp:
        (tmp / "x").write_text("1")
        with pytest.raises(BusyError):
            with atomic_dir(out):
                pass
    assert (out / "x").read_text() == "1" and sorted(p.name for p in tmp_path.iterdir()) == ["mix"]
