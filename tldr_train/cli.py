"""`tldr-train`: tiny models, SFT, TLDR rounds, evaluation and reports.

Each command parses options and calls one library function; heavy imports (torch, TRL, vLLM)
happen inside those functions so that `--help` stays instant.
"""

from __future__ import annotations

import click

from tldr_data.clitools import (
    CONTEXT_SETTINGS,
    TldrGroup,
    debug_option,
    emit_summary,
    json_option,
    output_option,
    overwrite_option,
    seed_option,
)


@click.group(cls=TldrGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="tldr")
@debug_option
def cli() -> None:
    """Train reasoning models on TLDR mixtures in rounds, and measure them.

    \b
    Loop:
      refs    measure the System-1 / System-2 reference points on a dev set
      round   train on the current mixture, evaluate, update the ratio, draw the next mixture
      run     several rounds in one process
      select  pick the paper's checkpoint; report  table + plot
    """


# --- tiny: local random models -------------------------------------------------------------------


@cli.command()
@output_option("Folder to write the model and tokenizer to")
@click.option("--layers", type=int, default=2, help="Transformer layers")
@click.option("--hidden", type=int, default=64, help="Hidden size")
@click.option(
    "--heads", type=int, default=None, help="Attention heads [default: hidden/32, head_dim 32 for vLLM-CPU]"
)
@click.option("--kv-heads", type=int, default=None, help="Key/value heads [default: heads]")
@click.option("--intermediate", type=int, default=None, help="MLP size [default: 4 x hidden]")
@click.option(
    "--vocab-size", type=int, default=1000, help="BPE vocabulary target (a small corpus gives fewer)"
)
@click.option("--max-position", type=int, default=2048, help="Context length (vLLM's max_model_len)")
@click.option(
    "--corpus",
    multiple=True,
    type=click.Path(),
    help="Tokenizer text: problems/traces/mixture Parquet, .txt, or folders of them (repeatable)",
)
@seed_option
@overwrite_option
@json_option
def tiny(output: str, corpus: tuple[str, ...], as_json: bool, **sizes) -> None:
    """Build a tiny random Qwen2 model with a locally trained tokenizer.

    The folder loads with AutoModelForCausalLM / AutoTokenizer / vllm.LLM like any Qwen checkpoint:
    ChatML chat template, <|im_end|> as eos, <think> tags as added tokens, one token per digit.

    \b
    Example:
      tldr-train tiny -o models/tiny --corpus problems.parquet
      tldr-train tiny -o models/small --hidden 256 --layers 4 --vocab-size 4000 --corpus traces/
    """
    from tldr_train.tiny import build_tiny

    summary = build_tiny(output, corpus=corpus, **sizes)
    line = (
        f"built tiny Qwen2 ({summary['parameters']:,} parameters, vocab {summary['vocab_size']:,}) "
        f"in {summary['seconds']:.1f}s -> {summary['path']}"
    )
    emit_summary(summary, line, as_json)


# --- sft: supervised fine-tuning with TRL --------------------------------------------------------


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("-m", "--model", required=True, help="Model folder or hub id to fine-tune")
@click.option(
    "-d", "--dataset", required=True, type=click.Path(), help="Mixture folder or prompt-completion file"
)
@output_option("Checkpoint folder (model + tokenizer + tldr_sft_config.json)")
@click.option("--max-steps", type=int, help="Optimizer steps  [default: -1, i.e. --num_train_epochs, 3]")
@click.option("--lr", type=float, help="Peak learning rate  [default: 1e-05]")
@click.option("--batch-size", type=int, help="Sequences per device per step  [default: 8]")
@click.option("--grad-accum", type=int, help="Gradient accumulation steps  [default: 1]")
@click.option("--max-length", type=int, help="Tokens per sequence, longer ones truncated  [default: 1024]")
@click.option("--lora/--no-lora", default=None, help="Train a LoRA adapter, merged into the saved weights")
@click.option("--lora-r", type=int, help="LoRA rank  [default: 16]")
@click.option("--lora-alpha", type=int, help="LoRA alpha  [default: 32]")
@click.option(
    "--packing/--no-packing",
    default=None,
    help="Pack sequences into max-length rows (TRL's bfd, padding-free)",
)
@click.option(
    "--bf16/--no-bf16", default=None, help="bf16 mixed precision [default: on GPUs that support it]"
)
@click.option(
    "--report-to", type=click.Choice(["none", "tensorboard", "wandb"]), help="Training logs  [default: none]"
)
@click.option("--seed", type=int, help="Random seed  [default: 0]")
@json_option
@click.argument("extra_args", nargs=-1, type=click.UNPROCESSED)
def sft(
    model: str, dataset: str, output: str, lr: float, as_json: bool, extra_args: tuple[str, ...], **options
) -> None:
    """Fine-tune a model on a mixture with TRL's SFTTrainer (loss on completions only).

    Unknown options go to TRL's SFTConfig/ModelConfig untouched, in their own spelling
    (`--lr_scheduler_type cosine`, `--warmup_ratio 0.1`, `--config recipe.yaml`). Re-running a finished
    checkpoint is a no-op; a killed run resumes from its last `checkpoint-N`.
    Across GPUs: `accelerate launch -m tldr_train.sft ...`.

    \b
    Input:  prompt-completion data (the `mixture` contract: chat-message `prompt` and `completion`)
    Output: a model folder that transformers and vLLM load as is
    Example:
      tldr-train sft -m models/tiny -d mix/ -o ckpt/ --max-steps 30 --lr 1e-3
      tldr-train sft -m Qwen/Qwen2.5-7B-Instruct -d mix/ -o ckpt/ --lora --lr_scheduler_type cosine
    """
    from tldr_train.sft import train

    summary = train(model, dataset, output, learning_rate=lr, extra_args=extra_args, **options)
    if summary["skipped"]:
        line = (
            f"{summary['output']} already holds a finished training ({summary['steps']} steps); nothing to do"
        )
    else:
        line = (
            f"trained {summary['steps']:,} steps on {summary['train_tokens']:,} tokens "
            f"in {summary['seconds']:.1f}s ({summary['tokens_per_s']:,.0f} tok/s, "
            f"final loss {summary['final_loss']:.3f}) -> {summary['output']}"
        )
    emit_summary(summary, line, as_json)
