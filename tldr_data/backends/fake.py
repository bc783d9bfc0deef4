"""A deterministic stand-in engine for plumbing tests (sharding, resume, errors), never for engine claims."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass

from tldr_data.backends.base import Backend, Completion, Sampling


@dataclass
class FakeOptions:
    words: int = 12  # completion length in words (one word = one token of the fake's own count)
    answer: str = "42"  # the boxed answer every completion ends with
    delay: float = 0.0  # seconds slept per `complete` call, so tests can kill a run mid-way
    fail_after: int = -1  # raise BackendError after this many calls (-1: never)


class FakeBackend(Backend):
    """Completions are a hash of (prompt, seed) spelled as words, then `\\boxed{answer}`."""

    name = "fake"
    description = "deterministic fake completions for plumbing tests"
    counts_tokens = True
    per_request_seed = True
    Options = FakeOptions

    def __init__(self, model: str, options: FakeOptions | None = None) -> None:
        super().__init__(model, options)
        self.calls = 0

    def complete(self, prompts: Sequence[str], sampling: Sampling, seeds: Sequence[int]) -> list[Completion]:
        from tldr_data.errors import BackendError

        if self.options.fail_after >= 0 and self.calls >= self.options.fail_after:
            raise BackendError(f"fake backend: failing on call {self.calls + 1} as asked (fail_after)")
        self.calls += 1
        time.sleep(self.options.delay)
        return [self._one(prompt, seed, sampling) for prompt, seed in zip(prompts, seeds, strict=True)]

    def _one(self, prompt: str, seed: int, sampling: Sampling) -> Completion:
        key = 0 if sampling.greedy else seed
        digest = hashlib.sha256(f"{key}\0{prompt}".encode()).hexdigest()
        words = [digest[i % 60 : i % 60 + 4] for i in range(self.options.words)]
        words.append(f"\\boxed{{{self.options.answer}}}")
        if len(words) > sampling.max_tokens:
            return Completion(" ".join(words[: sampling.max_tokens]), "length", sampling.max_tokens)
        return Completion(" ".join(words), "stop", len(words))
