"""The decoding settings: how a model is sampled, declared once for generate, evaluation and every round.

`tldr-data generate`, `tldr-train init` and `tldr-train eval` build their options from these fields (help text
and defaults in each field's metadata), and tldr_train's measurement protocol extends the class.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from tldr_data.backends.base import Sampling
from tldr_data.errors import ConfigError
from tldr_data.prompts import DEFAULT_INSTRUCTION


@dataclass(frozen=True)
class Decoding:
    """Sampling settings and the prompt around each question; `temperature == 0` means greedy."""

    temperature: float = field(default=0.7, metadata={"help": "Sampling temperature; 0 means greedy"})
    top_p: float = field(default=0.95, metadata={"help": "Nucleus sampling mass"})
    max_tokens: int = field(
        default=4096, metadata={"help": "Most tokens per completion (longer ones are cut: length)"}
    )
    n: int = field(default=1, metadata={"flags": ("-n", "--samples"), "help": "Samples per problem (pass@n)"})
    seed: int = field(default=0, metadata={"help": "Random seed"})
    instruction: str = field(
        default=DEFAULT_INSTRUCTION,
        metadata={"help": 'Appended to the question after a blank line; "" for none'},
    )
    system_prompt: str | None = field(
        default=None, metadata={"help": "Optional system message of the chat template"}
    )

    def check(self) -> None:
        """Reject settings no engine can use, naming the option."""
        if self.n < 1:
            raise ConfigError(f"-n must be at least 1 (got {self.n})")
        for flag, value in (("--temperature", self.temperature), ("--top-p", self.top_p)):
            if not math.isfinite(value):
                raise ConfigError(f"{flag} must be a finite number (got {value})")
        if self.temperature < 0:
            raise ConfigError(f"--temperature must be >= 0 (got {self.temperature}); 0 means greedy")
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"--top-p must be in (0, 1] (got {self.top_p})")
        if self.max_tokens < 1:
            raise ConfigError(f"--max-tokens must be at least 1 (got {self.max_tokens})")

    @property
    def sampling(self) -> Sampling:
        """What every backend receives per request."""
        return Sampling(
            temperature=float(self.temperature), top_p=float(self.top_p), max_tokens=int(self.max_tokens)
        )

    def gen_config(self) -> str:
        """The settings recorded in every trace row (`gen_config`): what makes two samples comparable."""
        return json.dumps(
            {
                "instruction": self.instruction,
                "max_tokens": int(self.max_tokens),
                "seed": self.seed,
                "system_prompt": self.system_prompt,
                "temperature": float(self.temperature),
                "top_p": float(self.top_p),
            },
            sort_keys=True,
        )
