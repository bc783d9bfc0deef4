"""The one interface every generation engine implements, so `generate` writes the same rows whatever runs."""

from __future__ import annotations

import dataclasses
import typing
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from tldr_data.errors import ConfigError


@dataclass(frozen=True)
class Sampling:
    """Sampling settings shared by every backend; `temperature == 0` means greedy decoding.

    Built from the decoding settings (tldr_data/decoding.py), which own the defaults.
    """

    temperature: float
    top_p: float
    max_tokens: int

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


@dataclass(frozen=True)
class Completion:
    """One sampled completion.

    `engine_tokens` is the engine's own count of generated token ids, special tokens excluded, where the
    engine reports one (None otherwise); `generate` records it as `completion_tokens` (`token_source`
    `engine`) and re-tokenizes the text only when it is None (`recount`).
    """

    text: str
    finish_reason: str
    engine_tokens: int | None = None


@dataclass
class Options:
    """Engine-specific options; subclasses add typed fields with defaults."""


class Backend(ABC):
    """A generation engine: built once for a model, then asked for completions of rendered prompts.

    Subclasses set `name`, the capability flags, a nested `Options` dataclass (unknown keys are refused),
    and implement `complete`.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    counts_tokens: ClassVar[bool] = False
    per_request_seed: ClassVar[bool] = False
    Options: ClassVar[type] = Options

    def __init__(self, model: str, options: Any = None) -> None:
        self.model = model
        self.options = options if options is not None else self.Options()

    @abstractmethod
    def complete(self, prompts: Sequence[str], sampling: Sampling, seeds: Sequence[int]) -> list[Completion]:
        """Return one completion per rendered prompt, in order; `seeds[i]` seeds prompt i where supported."""

    def close(self) -> None:  # noqa: B027 - most engines hold nothing that needs releasing
        """Release the engine (GPU memory, server connections)."""

    @classmethod
    def parse_options(cls, values: dict[str, Any]) -> Any:
        """Build `Options` from plain values (strings from the CLI are converted to the field's type)."""
        fields = {f.name: f for f in dataclasses.fields(cls.Options)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            known = ", ".join(sorted(fields)) or "none"
            raise ConfigError(f"backend {cls.name}: unknown option(s) {', '.join(unknown)}; known: {known}")
        hints = typing.get_type_hints(cls.Options)
        return cls.Options(
            **{key: _convert(key, value, hints[key], cls.name) for key, value in values.items()}
        )

    @classmethod
    def capabilities(cls) -> dict[str, Any]:
        """What `tldr-data backends` shows: flags and the options with their defaults."""
        return {
            "name": cls.name,
            "description": cls.description,
            "counts_tokens": cls.counts_tokens,
            "per_request_seed": cls.per_request_seed,
            "options": {f.name: f.default for f in dataclasses.fields(cls.Options)},
        }


def _convert(key: str, value: Any, hint: Any, backend: str) -> Any:
    """Convert a CLI string to the option's declared type (`int`, `float`, `bool`, `str`, or `X | None`)."""
    if not isinstance(value, str):
        return value
    kinds = [t for t in typing.get_args(hint) if t is not type(None)] or [hint]
    kind = kinds[0]
    if value.lower() in ("none", "null") and type(None) in typing.get_args(hint):
        return None
    try:
        if kind is bool:
            if value.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(value)
            return value.lower() in ("1", "true", "yes")
        return kind(value)
    except ValueError:
        raise ConfigError(
            f"backend {backend}: option {key}={value!r} is not a valid {kind.__name__}"
        ) from None
