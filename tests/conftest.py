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
