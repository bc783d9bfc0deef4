"""Supervised fine-tuning on a TLDR mixture with TRL's SFTTrainer, in the shape of TRL's own `sft.py` script.

Runs three ways with the same code: `train(...)` from Python, `tldr-train sft` (which forwards unknown
HF flags such as `--lr_scheduler_type` untouched), and `accelerate launch -m tldr_train.sft ...` across GPUs
and nodes. The loss covers completion tokens only, because the mixture is prompt-completion data and the
prompts are the problems, not something to imitate. The checkpoint is a plain model folder (LoRA adapters are
merged in), so every generation backend loads it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tldr_data import done
from tldr_data.atomic import ordinary_modes, write_json
from tldr_data.errors import ConfigError, InputError, SchemaError, TldrError
from tldr_data.lock import output_lock
from tldr_data.models import check_model, looks_local
from tldr_train.training import Training

CONFIG_FILE = "tldr_sft_config.json"
ADAPTER_DIR = "adapter"
KEEP_COLUMNS = ["prompt", "completion"]


@dataclass
class SFTScriptArguments:
    """tldr's own arguments; the model, LoRA and training settings are TRL's ModelConfig and SFTConfig."""

    dataset: str = field(
        default="",
        metadata={"help": "Mixture folder, dataset folder or Parquet/JSONL file in prompt-completion format"},
    )
    continue_from: str = field(
        default="",
        metadata={
            "help": "A trainer checkpoint (checkpoint-N) of an earlier run to continue: its optimizer, "
            "scheduler and step carry on, and --max_steps more steps are trained on this dataset"
        },
    )
    truncate: bool = field(
        default=False,
        metadata={"help": "Cut rows longer than --max_length (otherwise they are refused before training)"},
    )


def make_parser():
    """TRL's parser over our arguments, SFTConfig and ModelConfig (also reads `--config recipe.yaml`).

    tldr's training defaults (training.py; seed 0 like every other stage) sit beneath a recipe, and flags
    override the recipe. The device decides what TRL leaves open: bf16 only where a GPU supports it,
    `use_cpu` where none exists.
    """
    import torch
    from trl import ModelConfig, SFTConfig, TrlParser

    parser = TrlParser((SFTScriptArguments, SFTConfig, ModelConfig), prog="python -m tldr_train.sft")
    cuda = torch.cuda.is_available()
    device = {"bf16": cuda and torch.cuda.is_bf16_supported(), "use_cpu": not cuda}
    if not cuda and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        # NCCL needs GPUs: `torchrun --nproc_per_node 2 -m tldr_train.sft` on CPUs runs DDP over gloo.
        device["ddp_backend"] = "gloo"
    parser.set_defaults(**{**Training().trl_defaults(), "seed": 0, **device})
    return parser


def train(
    model: str,
    dataset: str | os.PathLike,
    output: str | os.PathLike,
    training: Training | None = None,
    **options: Any,
) -> dict:
    """Fine-tune `model` on `dataset` into `output`; return the summary (steps, tokens, tokens/s, loss).

    `options` are `train_argv`'s (max_steps, seed, continue_from, extra_args).
    """
    return run(*parse(train_argv(model, dataset, output, training, **options)))


def train_argv(
    model: str,
    dataset: str | os.PathLike,
    output: str | os.PathLike,
    training: Training | None = None,
    *,
    max_steps: int | None = None,
    seed: int | None = None,
    continue_from: str | os.PathLike | None = None,
    extra_args: Sequence[str] = (),
) -> list[str]:
    """The flags of `python -m tldr_train.sft` for these settings: what a launcher (torchrun, ...) runs.

    Settings of `training` that differ from its defaults become flags, over the recipe's values
    (`extra_args` may hold `--config r.yaml`); `max_steps` None means the recipe's, else -1 (epochs).
    `continue_from` is an earlier run's trainer checkpoint to carry on from (see `_train_and_save`).
    `extra_args` are HF/TRL flags in their own spelling (`--warmup_ratio 0.1`); they come last, so they
    override the named settings.
    """
    named = {
        "model_name_or_path": model,
        "dataset": dataset,
        "output_dir": output,
        "max_steps": max_steps,
        "continue_from": continue_from,
    }
    argv = [token for key, value in named.items() if value is not None for token in (f"--{key}", str(value))]
    argv += (training or Training()).trl_flags()
    if seed is not None:
        argv += ["--seed", str(seed)]
    return argv + list(extra_args)


def parse(argv: Sequence[str]) -> tuple:
    """Parse flags into (script args, SFTConfig, ModelConfig), with bad flags as one-line ConfigErrors."""
    parser = make_parser()

    def fail(message: str) -> None:
        raise ConfigError(f"sft: {message}")

    parser.error = fail
    try:
        parsed = tuple(parser.parse_args_and_config(list(argv)))
    except ValueError as err:
        raise ConfigError(f"sft: {str(err).splitlines()[0]}") from err
    _check_settings(parsed[1], parsed[2])
    return parsed


def _check_settings(training_args, model_args) -> None:
    """Settings no training can use, refused before anything is loaded or written."""
    lr = training_args.learning_rate
    if not math.isfinite(lr) or lr <= 0:
        raise ConfigError(f"sft: --lr (learning_rate) must be a positive number (got {lr})")
    counts = {
        "--batch-size (per_device_train_batch_size)": training_args.per_device_train_batch_size,
        "--grad-accum (gradient_accumulation_steps)": training_args.gradient_accumulation_steps,
        "--max-length (max_length)": training_args.max_length or 1,
        "--lora-r (lora_r)": model_args.lora_r,
    }
    for flag, value in counts.items():
        if value < 1:
            raise ConfigError(f"sft: {flag} must be at least 1 (got {value})")
    if training_args.max_steps == 0 or training_args.max_steps < -1:
        raise ConfigError(
            f"sft: --max-steps must be at least 1, or -1 for epochs (got {training_args.max_steps})"
        )


def run(script_args, training_args, model_args) -> dict:
    """Train, save a loadable checkpoint and its resolved config, mark it done; a no-op when already done."""
    output = Path(training_args.output_dir)
    finished = done.read_done(output)
    if finished is not None:
        return {**finished, "skipped": True}
    _check_report_to(training_args.report_to)
    lengths = check_lengths(script_args, training_args, model_args)
    # One process per output: a second `sft` into the same folder fails at once. The processes of one
    # distributed launch (WORLD_SIZE > 1) share the folder by design and do not take the lock.
    single = int(os.environ.get("WORLD_SIZE", "1")) == 1
    # transformers prints its training logs on stdout; stdout is for the summary, so they go to stderr.
    with output_lock(output) if single else contextlib.nullcontext(), contextlib.redirect_stdout(sys.stderr):
        return _train_and_save(script_args, training_args, model_args, output, lengths)


def check_lengths(script_args, training_args, model_args) -> dict:
    """Count the rows longer than max_length as TRL tokenizes them; refuse them unless --truncate.

    TRL cuts such rows silently, losing their end and EOS: the answer a reasoning trace exists for.
    """
    limit = training_args.max_length
    if limit is None:
        return {"max_length": None, "rows_over_max_length": 0}
    dataset = load_prompt_completion(script_args.dataset)
    tokenizer = _tokenizer(model_args)
    lengths = [len(token_ids(tokenizer, row["prompt"], row["completion"])) for row in dataset]
    over = sum(1 for n in lengths if n > limit)
    if over and not script_args.truncate:
        raise ConfigError(
            f"sft: {over} of {len(lengths)} rows of {script_args.dataset} are longer than max length {limit} "
            f"tokens (the longest: {max(lengths):,}); raise --max-length, or pass --truncate to cut them"
        )
    return {"max_length": limit, "rows_over_max_length": over}


def token_ids(tokenizer, prompt, completion) -> list[int]:
    """The token ids of prompt + completion as TRL's SFTTrainer builds them (chat template for messages)."""
    if isinstance(prompt, list):
        messages = prompt + completion
        return tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"]
    return tokenizer(prompt + completion)["input_ids"]


def _tokenizer(model_args):
    from transformers import AutoTokenizer

    model = model_args.model_name_or_path
    if not model:
        raise ConfigError("sft: no model given; pass -m/--model (a model folder or hub id)")
    check_model(model, "-m/--model")
    try:
        return AutoTokenizer.from_pretrained(model, revision=model_args.model_revision)
    except OSError as err:
        raise InputError(f"model {model}: cannot be loaded ({str(err).splitlines()[0]})") from err


def _train_and_save(script_args, training_args, model_args, output: Path, lengths: dict) -> dict:
    """Resume from the last checkpoint if any; the done marker is written last, after the model.

    With `continue_from`, training carries on from an earlier run's trainer checkpoint (optimizer, scheduler,
    step and RNG states, and the weights saved with them) for `max_steps` more steps on this dataset: TLDR's
    rounds as one continuous optimisation. A killed continued run resumes from its own last checkpoint.
    """
    started = time.perf_counter()
    start_step = _continued_step(script_args.continue_from, training_args)
    trainer = build_trainer(script_args, training_args, model_args)
    if trainer.accelerator.is_main_process:
        write_json(resolved_config(script_args, training_args, model_args), output / CONFIG_FILE)
    resume = training_args.resume_from_checkpoint or _last_checkpoint(output) or script_args.continue_from
    result = trainer.train(resume_from_checkpoint=resume or None)
    if model_args.use_peft:
        trainer.save_model(str(output / ADAPTER_DIR))
        trainer.accelerator.wait_for_everyone()
        if trainer.accelerator.is_main_process:
            _merge_adapter(output / ADAPTER_DIR, output, model_args)
    else:
        trainer.save_model(str(output))
    logged_losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    # TRL counts non-pad tokens exactly in `_total_train_tokens`; the logged `num_tokens` lags behind.
    tokens = int(trainer._total_train_tokens)
    runtime = result.metrics["train_runtime"]
    summary = {
        "output": str(output),
        "model": model_args.model_name_or_path,
        "dataset": script_args.dataset,
        "steps": trainer.state.global_step - start_step,
        "global_step": trainer.state.global_step,
        "resumed_from": str(resume) if resume else None,
        "train_tokens": tokens,
        "tokens_per_s": round(tokens / runtime, 1) if runtime else None,
        "final_loss": logged_losses[-1] if logged_losses else result.training_loss,
        "train_loss": result.training_loss,
        "lora": model_args.use_peft,
        **lengths,
        "seconds": round(time.perf_counter() - started, 3),
    }
    if trainer.accelerator.is_main_process:
        ordinary_modes(output)
        done.mark_done(output, summary)
    trainer.accelerator.wait_for_everyone()
    return {**summary, "skipped": False}


def build_trainer(script_args, training_args, model_args):
    """An SFTTrainer over the prompt/completion columns of the dataset (others, e.g. `pool`, are dropped)."""
    from safetensors import SafetensorError
    from trl import SFTTrainer, get_peft_config

    training_args.model_init_kwargs = {
        "revision": model_args.model_revision,
        "attn_implementation": model_args.attn_implementation,
        "dtype": model_args.dtype,
        **(training_args.model_init_kwargs or {}),
    }
    dataset = load_prompt_completion(script_args.dataset)
    tokenizer = _tokenizer(model_args)
    try:
        return SFTTrainer(
            model=model_args.model_name_or_path,
            args=training_args,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=get_peft_config(model_args),
        )
    except (OSError, SafetensorError) as err:  # SafetensorError: truncated or corrupt weights
        raise InputError(
            f"model {model_args.model_name_or_path}: cannot be loaded ({str(err).splitlines()[0]})"
        ) from err


def load_prompt_completion(path: str | os.PathLike):
    """Load prompt-completion data: a mixture folder, a Parquet/JSONL file, or a Hub dataset id.

    Local data is read with pyarrow into an in-memory `Dataset` rather than through `load_dataset`, whose
    cache is keyed on the folder name and file times: every round's folder is called `mix/`, and rounds
    written in the same second would otherwise share (or fail to verify) one cache entry.
    """
    source = Path(path)
    if not str(path):
        raise InputError("no dataset given; pass a mixture folder or a Parquet/JSONL file")
    if source.exists():
        dataset = _local_dataset(source)
    elif not looks_local(str(path)) and str(path).count("/") == 1:
        dataset = _hub_dataset(str(path))
    else:
        raise InputError(
            f"dataset {path}: no such folder or file; pass a mixture folder or a Parquet/JSONL file"
        )
    missing = [name for name in KEEP_COLUMNS if name not in dataset.column_names]
    if missing:
        raise SchemaError(
            f"dataset {source}: not prompt-completion data, missing column(s) {', '.join(missing)} "
            f"(has {', '.join(dataset.column_names)}); build one with `tldr-data mix`"
        )
    if len(dataset) == 0:
        raise InputError(f"dataset {source} has no rows")
    return dataset.select_columns(KEEP_COLUMNS)


def _local_dataset(source: Path):
    import pyarrow as pa
    import pyarrow.json as pj
    import pyarrow.parquet as pq
    from datasets import Dataset

    readers = {".parquet": pq.read_table, ".jsonl": pj.read_json, ".json": pj.read_json}
    if source.is_dir():
        files = [p for p in sorted(source.rglob("*")) if p.suffix in readers and not p.name.startswith(".")]
        if not files:
            raise InputError(f"dataset {source}: folder holds no .parquet or .jsonl files")
    elif source.suffix in readers:
        files = [source]
    else:
        raise InputError(f"dataset {source}: unsupported file type; pass a folder, .parquet or .jsonl")
    try:
        tables = [readers[f.suffix](f) for f in files]
        return Dataset(pa.concat_tables(tables, promote_options="default"))
    except (pa.ArrowException, OSError) as err:
        raise InputError(f"dataset {source}: cannot be read ({str(err).splitlines()[0]})") from err


def _hub_dataset(name: str):
    from datasets import load_dataset

    try:
        return load_dataset(name, split="train")
    except Exception as err:  # noqa: BLE001 - datasets raises many types for unreachable or bad repos
        raise InputError(f"dataset {name}: cannot be loaded ({str(err).splitlines()[0]})") from err


def resolved_config(script_args, training_args, model_args) -> dict:
    """Every setting after defaults, recipe and flags: what the checkpoint was trained with."""
    return {
        "script": asdict(script_args),
        "model": asdict(model_args),
        "training": json.loads(training_args.to_json_string()),
    }


def _merge_adapter(adapter: Path, output: Path, model_args) -> None:
    """Fold the LoRA weights into the base model so vLLM and transformers load the checkpoint as is."""
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoTokenizer

    merged = AutoPeftModelForCausalLM.from_pretrained(str(adapter), dtype=model_args.dtype).merge_and_unload()
    merged.save_pretrained(str(output))
    AutoTokenizer.from_pretrained(str(adapter)).save_pretrained(str(output))


def _continued_step(checkpoint: str, training_args) -> int:
    """The step an earlier run's checkpoint ended at; `max_steps` becomes that many steps after it."""
    if not checkpoint:
        return 0
    state = Path(checkpoint) / "trainer_state.json"
    if not state.is_file():
        raise InputError(f"--continue_from {checkpoint}: not a trainer checkpoint (no trainer_state.json)")
    if training_args.max_steps < 1:
        raise ConfigError("sft: --continue_from needs --max_steps, the steps to train after the checkpoint")
    step = json.loads(state.read_text())["global_step"]
    training_args.max_steps += step
    return step


def _last_checkpoint(output: Path) -> str | None:
    """The newest complete `checkpoint-N` of a killed run in `output`, to resume from.

    The Trainer writes a checkpoint's files one by one, trainer_state.json last; a run killed while saving
    leaves a folder without it, which cannot be resumed from. Such folders are deleted (a later save of the
    same step writes them again) and the newest complete one is used.
    """
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

    if not output.is_dir():
        return None
    steps = {}
    for folder in output.glob(f"{PREFIX_CHECKPOINT_DIR}-*"):
        suffix = folder.name.removeprefix(f"{PREFIX_CHECKPOINT_DIR}-")
        if folder.is_dir() and suffix.isdigit():
            steps[int(suffix)] = folder
    complete = [step for step, folder in steps.items() if (folder / "trainer_state.json").is_file()]
    newest = max(complete, default=None)
    for step, folder in steps.items():
        if newest is None or step > newest:
            shutil.rmtree(folder, ignore_errors=True)
    return None if newest is None else str(steps[newest])


def _check_report_to(report_to: list[str]) -> None:
    """Reporting integrations are optional packages: name the one to install, rather than fail deep inside."""
    from transformers.integrations import get_available_reporting_integrations

    wanted = [name for name in report_to if name not in ("none", "all")]
    missing = [name for name in wanted if name not in get_available_reporting_integrations()]
    if missing:
        raise ConfigError(
            f"--report-to {missing[0]}: not installed here; pip install {missing[0]}, or use none"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m tldr_train.sft` and `accelerate launch -m tldr_train.sft`: TRL flags in, JSON out."""
    try:
        summary = run(*parse(sys.argv[1:] if argv is None else argv))
    except TldrError as err:
        print(f"Error: {err}", file=sys.stderr)
        return err.exit_code
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
