"""Any OpenAI-compatible server (e.g. `vllm serve MODEL`), through its completions API on the rendered prompt.

The completions API, not chat: the prompt was rendered with the model's chat template by `generate`, so every
backend sees the very same text.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from tldr_data.backends.base import Backend, Completion, Sampling
from tldr_data.errors import BackendError

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


@dataclass
class OpenAIOptions:
    base_url: str | None = None  # None: $OPENAI_BASE_URL, else http://localhost:8000/v1
    api_key: str | None = None  # None: $OPENAI_API_KEY, else "EMPTY" (vllm serve needs none)
    concurrency: int = 8  # requests in flight at once
    timeout: float = 600.0  # seconds per request
    max_retries: int = 6  # retries on 429/5xx/connection errors, with exponential backoff
    backoff: float = 0.5  # first retry delay in seconds; doubles each time


class OpenAIBackend(Backend):
    """One completions request per prompt, `concurrency` at a time, retried on transient failures."""

    name = "openai"
    description = "OpenAI-compatible server, completions API (e.g. vllm serve)"
    counts_tokens = True
    per_request_seed = True
    Options = OpenAIOptions

    def __init__(self, model: str, options: OpenAIOptions | None = None) -> None:
        super().__init__(model, options)
        opts = self.options
        self.base_url = (
            opts.base_url or os.environ.get("OPENAI_BASE_URL") or "http://localhost:8000/v1"
        ).rstrip("/")
        api_key = opts.api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        self.client = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=opts.timeout,
            limits=httpx.Limits(max_connections=opts.concurrency),
        )
        self._check_reachable()

    def _check_reachable(self) -> None:
        """Fail before any output exists when the server is down or the URL is wrong."""
        try:
            response = self.client.get("/models", timeout=10.0)
        except httpx.TransportError as err:
            raise BackendError(
                f"cannot reach {self.base_url} ({type(err).__name__}); start the server "
                "(e.g. `vllm serve MODEL`) or fix --base-url"
            ) from None
        if response.status_code in (401, 403):
            raise BackendError(
                f"{self.base_url} refused the API key (HTTP {response.status_code}); set --api-key"
            )

    def complete(self, prompts: Sequence[str], sampling: Sampling, seeds: Sequence[int]) -> list[Completion]:
        with ThreadPoolExecutor(max_workers=self.options.concurrency) as pool:
            return list(
                pool.map(lambda ps: self._one(ps[0], ps[1], sampling), zip(prompts, seeds, strict=True))
            )

    def _one(self, prompt: str, seed: int, sampling: Sampling) -> Completion:
        body = {
            "model": self.model,
            "prompt": prompt,
            "max_tokens": sampling.max_tokens,
            "temperature": sampling.temperature,
            "top_p": 1.0 if sampling.greedy else sampling.top_p,
            "n": 1,
        }
        if not sampling.greedy:
            body["seed"] = seed
        data = self._post(body)
        choice = data["choices"][0]
        if choice.get("finish_reason") not in ("stop", "length"):
            raise BackendError(f"{self.base_url}: unexpected finish_reason {choice.get('finish_reason')!r}")
        # The server's usage count; vLLM's includes a final end-of-sequence token.
        tokens = (data.get("usage") or {}).get("completion_tokens")
        return Completion(choice["text"], choice["finish_reason"], tokens)

    def _post(self, body: dict) -> dict:
        delay, attempt = self.options.backoff, 0
        while True:
            last = attempt == self.options.max_retries
            try:
                response = self.client.post("/completions", json=body)
            except httpx.TransportError as err:
                if last:
                    raise BackendError(
                        f"{self.base_url}: {type(err).__name__} after {attempt + 1} tries"
                    ) from None
            else:
                if response.status_code == 200:
                    return response.json()
                if response.status_code not in RETRY_STATUS or last:
                    raise BackendError(
                        f"{self.base_url}/completions: HTTP {response.status_code}: {response.text[:200]}"
                    )
            time.sleep(delay)
            delay, attempt = delay * 2, attempt + 1

    def close(self) -> None:
        self.client.close()
