"""`tldr-data`: the curation commands. Each one parses options and calls one library function.

Stage order: problems/synth -> generate -> verify -> profile/select -> ratio -> mix -> push.
"""

from __future__ import annotations

import json

import click

from tldr_data.clitools import (
    CONTEXT_SETTINGS,
    TldrGroup,
    debug_option,
    emit_summary,
    json_option,
    output_option,
    progress_enabled,
    seed_option,
)
from tldr_data.prompts import DEFAULT_INSTRUCTION


@click.group(cls=TldrGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="tldr")
@debug_option
def cli() -> None:
    """Curate re-weighted SFT mixtures that teach reasoning models to think shorter (TLDR).

    \b
    Stages, in order (each reads and writes Parquet):
      problems / synth   problem sets in, `problems` out
      generate           sample System-1 / System-2 traces
      verify             check answers with math-verify, count tokens
      profile / select   length/accuracy profile, short and long pools
      ratio / mix        the TLDR ratio and the re-weighted mixture
      push               upload a mixture to the Hugging Face Hub

    \b
    Quick start on a CPU:
      tldr-data synth -o problems.parquet --levels 1-6 --per-level 50
      tldr-data COMMAND --help
    """


# --- generate: sample System-1 / System-2 traces ---------------------------------------------------------


def _parse_part(_ctx: click.Context, _param: click.Parameter, value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        index, count = (int(x) for x in value.split("/"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not I/K (e.g. 0/4)") from None
    return index, count


def _parse_backend_options(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict:
    pairs = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE (e.g. dtype=float32)")
        pairs[key.strip().replace("-", "_")] = value
    return pairs


@cli.command(name="generate")
@click.option(
    "-m", "--model", required=True, help="Hub id or local model folder (the server's model name for openai)"
)
@click.option(
    "-i", "--input", "input_path", required=True, type=click.Path(), help="`problems` Parquet file or folder"
)
@output_option("Output folder of `traces` shards (re-running resumes it)")
@click.option("--system", required=True, help="Label of the traces: system1, system2 or your own")
@click.option("-n", "n", type=int, default=1, help="Samples per problem")
@click.option("--temperature", type=float, default=0.7, help="Sampling temperature; 0 means greedy")
@click.option("--top-p", type=float, default=0.95, help="Nucleus sampling mass")
@click.option(
    "--max-tokens", type=int, default=4096, help="Most tokens per completion (longer ones are cut: length)"
)
@seed_option
@click.option(
    "--backend", default=None, help="vllm, transformers, openai or fake [default: vllm if installed]"
)
@click.option(
    "--instruction",
    default=DEFAULT_INSTRUCTION,
    help='Appended to the question after a blank line; "" for none',
)
@click.option("--system-prompt", default=None, help="Optional system message of the chat template")
@click.option(
    "--tokenizer", default=None, help="Tokenizer for the chat template and token counts [default: MODEL]"
)
@click.option("--batch-size", type=int, default=256, help="Samples per shard (the work a kill can lose)")
@click.option("--tensor-parallel-size", type=int, default=1, help="GPUs per model replica (vllm)")
@click.option(
    "--base-url", default=None, help="OpenAI-compatible server URL, e.g. http://localhost:8000/v1 (openai)"
)
@click.option("--api-key", default=None, help="API key (openai) [default: $OPENAI_API_KEY]")
@click.option("--concurrency", type=int, default=8, help="Requests in flight (openai)")
@click.option(
    "-O",
    "--backend-option",
    "backend_options",
    multiple=True,
    callback=_parse_backend_options,
    metavar="KEY=VALUE",
    help="Engine option, e.g. dtype=float32 (see `tldr-data backends`)",
)
@click.option(
    "--part",
    default=None,
    callback=_parse_part,
    metavar="I/K",
    help="Only problems whose id hashes to I mod K: run K processes (one per GPU) into one folder",
)
@click.option("--limit", type=int, default=None, help="Only the first N problems")
@click.option("--allow-mixed", is_flag=True, help="Add traces of other settings to a folder that holds some")
@json_option
def generate_command(input_path: str, output: str, as_json: bool, **options) -> None:
    """Sample completions for each problem with a local or served model.

    Reads `problems`, writes a folder of `traces` Parquet shards (every problems column, the rendered prompt,
    completion, finish_reason, token counts and gen_config). Re-running the same command skips the samples
    already written, so a killed run resumes where it stopped.

    \b
    Example:
      tldr-data generate -m Qwen/Qwen2.5-7B-Instruct --system system1 -i problems.parquet -o traces/s1 \\
          -n 4 --temperature 0.7 --max-tokens 4096
      vllm serve MODEL & tldr-data generate -m MODEL --backend openai --base-url http://localhost:8000/v1 ...
    """
    from tldr_data.generate import generate

    summary = generate(options.pop("model"), input_path, output, progress=progress_enabled(), **options)
    reasons = summary["finish_reasons"]
    line = (
        f"generated {summary['rows_written']:,} rows ({summary['rows_skipped']:,} already there) for "
        f"{summary['problems']:,} problems, {summary['completion_tokens']:,} tokens "
        f"in {summary['seconds']:.1f}s ({summary['tokens_per_s']:,.0f} tok/s; "
        f"stop {reasons.get('stop', 0)}, length {reasons.get('length', 0)}) -> {output}"
    )
    emit_summary(summary, line, as_json)


@cli.command(name="backends")
@json_option
def backends_command(as_json: bool) -> None:
    """List the generation backends, their capabilities and options.

    \b
    Example:
      tldr-data backends --json
    """
    from tldr_data.backends import BACKENDS, default_backend, get_backend

    rows = [get_backend(name).capabilities() for name in BACKENDS]
    if as_json:
        click.echo(json.dumps({"default": default_backend(), "backends": rows}, indent=2))
        return
    for row in rows:
        options = ", ".join(f"{k}={v}" for k, v in row["options"].items())
        flags = [flag for flag in ("counts_tokens", "per_request_seed") if row[flag]]
        click.echo(f"{row['name']:<13} {row['description']}  [{', '.join(flags)}]  options: {options}")
