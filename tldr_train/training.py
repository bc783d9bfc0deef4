"""The training settings of a fine-tuning run, declared once for `tldr-train sft` and every TLDR round.

`tldr-train sft` and `tldr-train init` build their options from these fields (help text, flag and default in
each field's metadata); `sft.train` turns them into TRL's flags; a run records them in its state so every
round trains alike. The defaults are tldr's, applied beneath a `--config` recipe (flags > recipe > these).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

REPORT_TO = ("none", "tensorboard", "wandb")


@dataclass(frozen=True)
class Training:
    """Optimizer, batching, sequence length and LoRA settings, with TRL's name of each."""

    learning_rate: float = field(
        default=1e-5, metadata={"flags": ("--lr",), "trl": "learning_rate", "help": "Peak learning rate"}
    )
    batch_size: int = field(
        default=8,
        metadata={"trl": "per_device_train_batch_size", "help": "Sequences per device per step"},
    )
    grad_accum: int = field(
        default=1, metadata={"trl": "gradient_accumulation_steps", "help": "Gradient accumulation steps"}
    )
    lr_scheduler: str = field(
        default="constant",
        metadata={
            "trl": "lr_scheduler_type",
            "help": "Learning-rate schedule (the paper: constant; TRL's own default is linear)",
        },
    )
    warmup_steps: int = field(
        default=0,
        metadata={
            "trl": "warmup_steps",
            "help": "Steps of linear warm-up to the peak rate, with a schedule that has one (e.g. "
            "constant_with_warmup); continued rounds warm up once, at the start of round 0",
        },
    )
    max_length: int | None = field(
        default=None,
        metadata={
            "trl": "max_length",
            "help": "Tokens per sequence; longer rows are refused unless --truncate  [default: no limit]",
        },
    )
    truncate: bool = field(
        default=False,
        metadata={
            "flags": ("--truncate/--no-truncate",),
            "trl": "truncate",
            "help": "Cut rows longer than --max-length instead of refusing them",
        },
    )
    gradient_checkpointing: bool = field(
        default=False,
        metadata={
            "flags": ("--gradient-checkpointing/--no-gradient-checkpointing",),
            "trl": "gradient_checkpointing",
            "help": "Recompute activations in the backward pass: long sequences in less memory",
        },
    )
    lora: bool = field(
        default=False,
        metadata={
            "flags": ("--lora/--no-lora",),
            "trl": "use_peft",
            "help": "Train a LoRA adapter, merged into the saved weights",
        },
    )
    lora_r: int = field(default=16, metadata={"trl": "lora_r", "help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"trl": "lora_alpha", "help": "LoRA alpha"})
    packing: bool = field(
        default=False,
        metadata={
            "flags": ("--packing/--no-packing",),
            "trl": "packing",
            "help": "Pack sequences into max-length rows (TRL's bfd, padding-free)",
        },
    )
    bf16: bool | None = field(
        default=None,
        metadata={
            "flags": ("--bf16/--no-bf16",),
            "trl": "bf16",
            "help": "bf16 mixed precision  [default: on GPUs that support it]",
        },
    )
    report_to: str = field(
        default="none", metadata={"trl": "report_to", "choices": REPORT_TO, "help": "Training logs"}
    )

    def trl_defaults(self) -> dict[str, Any]:
        """These settings under TRL's names, for the parser's defaults (bf16 None: left to the device;
        max_length None: no limit, where TRL's default would cut at 1024)."""
        return {
            f.metadata["trl"]: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) is not None or f.name == "max_length"
        }

    def trl_flags(self) -> list[str]:
        """TRL flags for the settings that differ from the defaults, so a `--config` recipe still applies."""
        default = Training()
        return [
            token
            for f in fields(self)
            if getattr(self, f.name) != getattr(default, f.name)
            for token in (f"--{f.metadata['trl']}", str(getattr(self, f.name)))
        ]
