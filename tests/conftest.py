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
