"""Faults from outside: a flaky OpenAI-compatible server and a full disk. Nothing finished is lost or doubled,
nothing half-written is left, and the failure is one line."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from tldr_data.cli import cli
from tldr_data.schema import PROBLEMS

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def server():
    """A loopback OpenAI-compatible server; `server.plan` lists what the next /completions requests get:
    an HTTP status, "drop" (headers and half a body, then the connection closes) or "ok"; then "ok"."""
    state = type("Server", (), {})()
    state.plan, state.lock, state.served = [], threading.Lock(), 0

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            self.reply(200, {"data": [{"id": "tiny"}]})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                action = state.plan.pop(0) if state.plan else "ok"
            if action == "drop":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self.wfile.write(b'{"choices": [{"te')
                self.wfile.flush()
                self.connection.shutdown(2)
                self.close_connection = True
                return
            if action != "ok":
                return self.reply(int(action), {"error": {"message": f"injected {action}"}})
            with state.lock:
                state.served += 1
            text = f"The answer is \\boxed{{{len(body['prompt']) % 10}}}."
            self.reply(
                200,
                {
                    "choices": [{"text": text, "finish_reason": "stop"}],
                    "usage": {"completion_tokens": 7},
                },
            )

        def reply(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def problems(tmp_path: Path) -> Path:
    rows = [{"problem_id": f"p{i}", "question": f"What is {i}?", "answer": str(i)} for i in range(6)]
    path = tmp_path / "problems.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=PROBLEMS), path)
    return path


def generate_args(server, tiny_model: Path, problems: Path, out: Path) -> list[str]:
    return [
        "generate", "-m", "tiny", "--tokenizer", str(tiny_model), "-i", str(problems), "-o", str(out),
        "--system", "s", "-n", "2", "--batch-size", "4", "--backend", "openai", "--base-url", server.url,
        "--concurrency", "2", "-O", "backoff=0.01", "-O", "max_retries=3",
    ]  # fmt: skip


def keys(out: Path) -> list[tuple[str, int]]:
    table = pa.concat_tables(pq.read_table(p) for p in out.glob("*.parquet"))
    return sorted(zip(table["problem_id"].to_pylist(), table["sample_idx"].to_pylist(), strict=True))


def test_429_500_and_dropped_connections_are_retried(server, tiny_model, problems, tmp_path) -> None:
    server.plan = ["429", "500", "drop", "503", "drop", "502"]
    out = tmp_path / "traces"
    # Which of the two concurrent requests meets which failure is timing: give one request room for all six.
    args = [*generate_args(server, tiny_model, problems, out), "-O", "max_retries=6"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert keys(out) == sorted((f"p{i}", s) for i in range(6) for s in range(2))
    assert server.served == 12


def test_a_server_that_keeps_failing_is_one_line_and_finished_rows_are_kept(
    server, tiny_model, problems, tmp_path
) -> None:
    out = tmp_path / "traces"
    server.plan = ["ok"] * 4 + ["500"] * 40
    result = CliRunner().invoke(cli, generate_args(server, tiny_model, problems, out))
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.output
    assert "HTTP 500" in result.stderr and f"4 finished rows are kept in {out}" in result.stderr
    assert keys(out) == [("p0", 0), ("p0", 1), ("p1", 0), ("p1", 1)]
    server.plan = []
    again = CliRunner().invoke(cli, [*generate_args(server, tiny_model, problems, out), "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout)["rows_skipped"] == 4
    assert keys(out) == sorted((f"p{i}", s) for i in range(6) for s in range(2))


def _full_disk(kind: str, folder: Path):
    """A folder where writes fail: a 64 KB tmpfs (to be filled: ENOSPC), or a 4 KB file-size limit (EFBIG)."""
    folder.mkdir()
    if kind == "tmpfs":
        mount = ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)]
        if os.geteuid() != 0 or subprocess.run(mount, capture_output=True).returncode != 0:
            pytest.skip("mounting a tmpfs needs root")
        return None

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    return limit


def _fill(path: Path) -> None:
    with path.open("wb", buffering=0) as filler:
        try:
            while True:
                filler.write(b"x" * 4096)
        except OSError:
            pass


@pytest.mark.parametrize("kind", ["tmpfs", "rlimit"])
def test_a_full_disk_leaves_nothing_half_written(kind, make_pool, tmp_path) -> None:
    folder = tmp_path / "disk"
    limit = _full_disk(kind, folder)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        previous = folder / "problems.parquet"
        synth = [sys.executable, "-m", "tldr_data", "synth", "--levels", "1-3", "--per-level", "5"]
        subprocess.run([*synth, "-o", str(previous)], check=True, capture_output=True, env=env)
        before = previous.read_bytes()
        if kind == "tmpfs":
            _fill(folder / "filler")
        short, long = make_pool("short", 200, tokens=400), make_pool("long", 200, tokens=400)
        mix = [sys.executable, "-m", "tldr_data", "mix", "--short", str(short), "--long", str(long)]
        commands = [
            [*synth, "-o", str(previous), "--per-level", "60", "--overwrite"],
            [*mix, "--ratio", "0.5", "--size", "300", "-o", str(folder / "mix")],
        ]
        for command in commands:
            done = subprocess.run(command, capture_output=True, text=True, env=env, preexec_fn=limit)
            assert done.returncode == 1, (command, done.stderr)
            assert done.stderr.count("\n") == 1 and done.stderr.startswith("Error: "), done.stderr
            assert "unexpected" not in done.stderr, done.stderr
        assert previous.read_bytes() == before
        left = sorted(p.name for p in folder.iterdir())
        assert left == (["filler", "problems.parquet"] if kind == "tmpfs" else ["problems.parquet"])
    finally:
        if kind == "tmpfs":
            subprocess.run(["umount", str(folder)], check=False)
