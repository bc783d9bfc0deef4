"""The generation backends, by name. Engines are imported only when asked for (vLLM costs ~20 s)."""

from __future__ import annotations

import importlib
import importlib.util

from tldr_data.backends.base import Backend, Completion, Sampling
from tldr_data.errors import UnknownBackendError

BACKENDS: dict[str, str] = {
    "vllm": "tldr_data.backends.vllm:VLLMBackend",
    "transformers": "tldr_data.backends.transformers:TransformersBackend",
    "openai": "tldr_data.backends.openai:OpenAIBackend",
    "fake": "tldr_data.backends.fake:FakeBackend",
}

__all__ = ["BACKENDS", "Backend", "Completion", "Sampling", "default_backend", "get_backend"]


def get_backend(name: str) -> type[Backend]:
    """The backend class registered under `name`; its module (not its engine) is imported now."""
    if name not in BACKENDS:
        raise UnknownBackendError(f"unknown backend {name!r}; known backends: {', '.join(BACKENDS)}")
    module, cls = BACKENDS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def default_backend() -> str:
    """vllm where it is installed, else transformers (CPUs and machines without vLLM)."""
    return "vllm" if importlib.util.find_spec("vllm") is not None else "transformers"
