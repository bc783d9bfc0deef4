"""Hugging Face transformers `generate`: batched with left padding, for CPUs and machines without vLLM."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tldr_data.backends.base import Backend, Completion, Sampling
from tldr_data.errors import BackendError, InputError, MissingDependencyError


@dataclass
class TransformersOptions:
    dtype: str = "auto"  # float32 makes greedy outputs agree best with other engines
    device: str | None = None  # None: cuda when available, else cpu
    batch_size: int = 16  # prompts per `generate` call (sorted by length to limit padding)


class TransformersBackend(Backend):
    """`model.generate` on left-padded batches; a batch shares one RNG seed (its first prompt's)."""

    name = "transformers"
    description = "transformers generate (CPU-friendly)"
    counts_tokens = True
    per_request_seed = False
    Options = TransformersOptions

    def __init__(self, model: str, options: TransformersOptions | None = None) -> None:
        super().__init__(model, options)
        try:
            import torch
            from safetensors import SafetensorError
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as err:
            raise MissingDependencyError(
                f"the transformers backend needs torch and transformers ({err}); pip install 'tldr[cpu]'"
            ) from None
        self.device = self.options.device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = self.options.dtype if self.options.dtype == "auto" else getattr(torch, self.options.dtype)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model, padding_side="left")
            self.model = AutoModelForCausalLM.from_pretrained(model, dtype=dtype).to(self.device).eval()
        except SafetensorError as err:
            raise InputError(
                f"{model}: its weights cannot be read ({err}); is the model folder complete?"
            ) from None
        except (OSError, ValueError) as err:
            raise BackendError(f"transformers could not load {model}: {str(err).splitlines()[0]}") from None
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        eos = self.model.generation_config.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}

    def complete(self, prompts: Sequence[str], sampling: Sampling, seeds: Sequence[int]) -> list[Completion]:
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        results: dict[int, Completion] = {}
        size = self.options.batch_size
        for start in range(0, len(order), size):
            chunk = order[start : start + size]
            batch = self._batch([prompts[i] for i in chunk], sampling, seeds[chunk[0]])
            results.update(zip(chunk, batch, strict=True))
        return [results[i] for i in range(len(prompts))]

    def _batch(self, prompts: list[str], sampling: Sampling, seed: int) -> list[Completion]:
        import torch

        enc = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        enc = enc.to(self.device)
        kwargs = {"max_new_tokens": sampling.max_tokens, "pad_token_id": self.tokenizer.pad_token_id}
        if sampling.greedy:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            kwargs.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p, top_k=None)
            torch.manual_seed(seed)
        with torch.inference_mode():
            out = self.model.generate(**enc, **kwargs)
        return [self._completion(row[enc["input_ids"].shape[1] :].tolist(), sampling) for row in out]

    def _completion(self, ids: list[int], sampling: Sampling) -> Completion:
        """Cut at the first end-of-sequence id; without one the completion ran out of `max_tokens`."""
        stop = next((i for i, t in enumerate(ids) if t in self.eos_ids), None)
        kept = ids if stop is None else ids[:stop]
        special = set(self.tokenizer.all_special_ids)
        text = self.tokenizer.decode(kept, skip_special_tokens=True)
        finish = "stop" if stop is not None or len(ids) < sampling.max_tokens else "length"
        return Completion(text, finish, sum(1 for t in kept if t not in special))
