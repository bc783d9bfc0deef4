"""Shared fixtures: paths to ../shared data, an isolated TLDR_HOME, and vLLM-CPU settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
BENCHMARKS = SHARED / "data" / "benchmarks"
REAL_TRACES = SHARED / "data" / "real_traces" / "tldr_eval_logs"

# vLLM on the CPU: a small KV cache, no engine subprocess, eager mode (5-7 s start instead of 60+).
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def requires_shared(path: Path) -> pytest.MarkDecorator:
    """Skip, with the reason, where the read-only ../shared data is absent (e.g. a user's clone)."""
    return pytest.mark.skipif(
        not path.exists(), reason=f"{path} is absent (../shared is not beside this clone)"
    )


@pytest.fixture(autouse=True)
def tldr_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep caches and logs of every test out of the user's home."""
    home = tmp_path_factory.mktemp("tldr_home")
    monkeypatch.setenv("TLDR_HOME", str(home))
    return home


@pytest.fixture(scope="session", autouse=True)
def engine_caches(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Point vLLM's and torch inductor's caches at a temp dir for the whole session."""
    cache = tmp_path_factory.mktemp("engine_cache")
    os.environ.setdefault("VLLM_CACHE_ROOT", str(cache / "vllm"))
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache / "inductor"))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Qwen2 model + tokenizer folder (built once per session, ~2 s), for any stage's tests."""
    from tldr_train.tiny import build_tiny

    path = tmp_path_factory.mktemp("models") / "tiny"
    build_tiny(path, seed=0)
    return path


@pytest.fixture
def make_pool(tmp_path: Path):
    """Write a tiny `verified`-contract pool: `make_pool("short", 50, tokens=100)` -> its Parquet path."""
    import json

    import pyarrow as pa

    from tldr_data.atomic import write_parquet
    from tldr_data.schema import VERIFIED, conform

    def make(name: str, rows: int, tokens: int = 100, gen_config: dict | None = None) -> Path:
        config = json.dumps(gen_config or {"instruction": "Please reason step by step.", "temperature": 0.7})
        columns = {field.name: [None] * rows for field in VERIFIED}
        columns |= {
            "problem_id": [f"{name}-{i}" for i in range(rows)],
            "question": [f"What is {i} + {i}?" for i in range(rows)],
            "completion": [
                f"{name} reasoning {i}. " * (1 + tokens // 4) + f"\\boxed{{{2 * i}}}" for i in range(rows)
            ],
            "completion_tokens": [tokens + i for i in range(rows)],
            "gen_config": [config] * rows,
            "system": [name] * rows,
            "correct": [True] * rows,
        }
        table = conform(
            pa.table({k: pa.array(v, VERIFIED.field(k).type) for k, v in columns.items()}), "verified"
        )
        return write_parquet(table, tmp_path / "pools" / f"{name}.parquet")

    return make


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch):
    """A loopback HTTP server speaking the slice of the Hub API that `upload_folder` uses.

    The real `huggingface_hub` client talks to it over HTTP (HF_ENDPOINT, also for subprocesses). Queue
    failures with `hub.fail["commit"] = [503]`; uploads land in `hub.files[(repo_id, revision)][path]`.
    """
    import base64
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from types import SimpleNamespace

    import huggingface_hub.constants as hf_constants

    hub = SimpleNamespace(requests=[], fail={}, files={}, branches=set(), repos={})

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            hub.requests.append(("GET", self.path))
            self.reply(404, {"error": "not found"})

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            parts = self.path.split("?")[0].strip("/").split("/")
            kind = (
                "create"
                if parts[:3] == ["api", "repos", "create"]
                else parts[4]
                if len(parts) > 4
                else parts[1]
            )
            hub.requests.append(("POST", self.path))
            if hub.fail.get(kind):
                return self.reply(hub.fail[kind].pop(0), {"error": f"injected failure on {kind}"})
            if kind == "create":
                spec = json.loads(body)
                repo = f"{spec['organization']}/{spec['name']}"
                hub.repos[repo] = spec
                return self.reply(200, {"url": f"{hub.url}/datasets/{repo}", "name": repo, "id": repo})
            if kind == "validate-yaml":
                return self.reply(200, {"errors": [], "warnings": []})
            repo, revision = f"{parts[2]}/{parts[3]}", "/".join(parts[5:])
            if kind == "branch":
                hub.branches.add((repo, revision))
                return self.reply(200, {})
            if kind == "preupload":
                files = json.loads(body)["files"]
                modes = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]
                return self.reply(200, {"files": modes})
            if kind == "commit":
                store = hub.files.setdefault((repo, revision), {})
                for line in body.decode().splitlines():
                    item = json.loads(line)
                    if item["key"] == "file":
                        store[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
                url = f"{hub.url}/datasets/{repo}/commit/{'a' * 40}"
                return self.reply(200, {"commitUrl": url, "commitOid": "a" * 40, "commitMessage": "m"})
            self.reply(404, {"error": "not found"})

        def reply(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_TOKEN", "hf_fake_token_for_tests")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hf_constants, "ENDPOINT", hub.url)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    yield hub
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def sft_mixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny repetitive mixture folder (32 rows, the `mixture` contract) that a tiny model learns quickly."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = []
    for i in range(32):
        a, b = i % 7, i % 5
        thought = f"<think>\n{a} + {b} = {a + b}. So the answer is {a + b}.\n</think>\n"
        rows.append(
            {
                "prompt": [{"role": "user", "content": f"What is {a} + {b}?"}],
                "completion": [
                    {"role": "assistant", "content": thought + f"The answer is \\boxed{{{a + b}}}."}
                ],
                "problem_id": f"p{i}",
                "pool": "short" if i % 2 else "long",
                "completion_tokens": 20,
            }
        )
    folder = tmp_path_factory.mktemp("mixture") / "mix"
    (folder / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), folder / "data" / "train-00000-of-00001.parquet")
    return folder


ROW_DEFAULTS = {
    "problem_id": "p0", "source": "test", "question": "What is 1?", "answer": "1", "difficulty": None,
    "split": "test", "system": "system2", "model": "m", "sample_idx": 0, "prompt": "What is 1?",
    "completion": "", "finish_reason": "stop", "prompt_tokens": 1, "completion_tokens": 1,
    "token_source": None, "gen_config": "{}", "backend": "test", "pred_answer": None, "correct": False,
    "verdict": "wrong",
}  # fmt: skip


@pytest.fixture
def write_rows(tmp_path: Path):
    """Write rows of a contract (`traces`/`verified`) to Parquet; unspecified columns take ROW_DEFAULTS."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tldr_data.schema import CONTRACTS

    def write(rows: list[dict], contract: str = "traces", name: str = "rows.parquet") -> Path:
        schema = CONTRACTS[contract]
        table = pa.Table.from_pylist([{**ROW_DEFAULTS, **row} for row in rows]).select(schema.names)
        path = tmp_path / name
        pq.write_table(table.cast(schema), path)
        return path

    return write
