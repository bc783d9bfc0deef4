"""`tldr-data`: the curation commands. Each one parses options and calls one library function.

Stage order: problems/synth -> generate -> verify -> profile/select -> ratio -> mix -> push.
"""

from __future__ import annotations

import click

from tldr_data.clitools import CONTEXT_SETTINGS, TldrGroup, debug_option


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


# --- stage: import, verify, profile, select (traces -> verified -> pools) ---

import json  # noqa: E402 - kept with its stage so that stage merges stay independent

from tldr_data.clitools import (  # noqa: E402 - kept with its stage so that stage merges stay independent
    emit_summary,
    json_option,
    output_option,
    overwrite_option,
    progress_enabled,
)


@cli.command("import")
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@output_option("Output `traces` Parquet file")
@click.option("--format", "fmt", type=click.Choice(["skythought"]), default="skythought", help="Input format")
@click.option("--system", required=True, help="System label of the imported model (system1/system2/...)")
@click.option("-m", "--model", required=True, help="Name of the model that wrote the responses")
@overwrite_option
@json_option
def import_command(
    inputs: tuple[str, ...], output: str, fmt: str, system: str, model: str, overwrite: bool, as_json: bool
) -> None:
    """Import other tools' evaluation outputs as `traces` (one row per response).

    Reads SkyThought results JSON; keeps the source's own verdict as `imported_correct`. Token counts in
    those logs are whitespace word counts: run `verify` to recount them with the model's tokenizer.

    \b
    Example:
      tldr-data import run.json -o traces.parquet --system system2 \\
        -m deepseek-ai/DeepSeek-R1-Distill-Qwen-7B
    """
    from tldr_data.importers import import_traces

    summary = import_traces(inputs, output, format=fmt, system=system, model=model, overwrite=overwrite)
    emit_summary(
        summary,
        f"imported {summary['rows']:,} responses to {summary['problems']:,} problems -> {output}",
        as_json,
    )


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@output_option("Output `verified` Parquet file")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Worker processes [default: cores]")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=5.0, help="Seconds per item")
@click.option("--tokenizer", default=None, help="Tokenizer name or folder [default: each row's `model`]")
@overwrite_option
@json_option
def verify(
    inputs: tuple[str, ...],
    output: str,
    workers: int | None,
    timeout: float,
    tokenizer: str | None,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Check every trace's answer with math-verify and recount its tokens.

    Reads `traces` (files or folders of shards), writes `verified` (every row, in input order, with
    `pred_answer`, `correct`, `verdict`) plus `<output>.stats.json`. An item slower than --timeout is
    killed and labelled `timeout`.

    \b
    Example:
      tldr-data verify traces/ -o verified.parquet --workers 8 --tokenizer Qwen/Qwen2.5-7B-Instruct
    """
    from tldr_data.verify import verify as run_verify

    summary = run_verify(
        inputs,
        output,
        workers=workers,
        timeout=timeout,
        tokenizer=tokenizer,
        overwrite=overwrite,
        progress=progress_enabled(),
    )
    counts = ", ".join(f"{n:,} {verdict}" for verdict, n in summary["verdicts"].items() if n)
    emit_summary(
        summary,
        f"verified {summary['rows']:,} rows in {summary['seconds']:.1f}s "
        f"({summary['rows_per_second']:,.0f} rows/s): {counts} -> {output}",
        as_json,
    )


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("--by", default="system,source", help="Comma-separated group columns ('' for one group)")
@click.option(
    "--plot", "plot_path", type=click.Path(), default=None, help="Write token histograms to this PNG"
)
@click.option("--sql", "show_sql", is_flag=True, help="Print the query instead of running it")
@json_option
def profile(inputs: tuple[str, ...], by: str, plot_path: str | None, show_sql: bool, as_json: bool) -> None:
    """Profile accuracy and thinking length per group of `verified` rows.

    Per group: n, accuracy, mean/median/p90/max completion tokens, truncated_rate and pass_at_k (k =
    samples per problem; null with one sample). Timeouts and errors count as wrong, and their tokens count.

    \b
    Example:
      tldr-data profile verified.parquet --by system,source --plot lengths.png
      tldr-data profile verified/ --by source --json | jq '.[] | {source, accuracy}'
    """
    from tldr_data import profile as lib
    from tldr_data.duck import connect

    keys = [name.strip() for name in by.split(",") if name.strip()]
    if show_sql:
        click.echo(lib.profile_sql(connect(), inputs, keys))
        return
    rows = lib.profile(inputs, by=keys)
    if plot_path:
        lib.plot(inputs, rows, keys, plot_path)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
    else:
        click.echo(lib.render_table(rows, keys))


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@output_option("Output pool, `verified` Parquet file")
@click.option(
    "--shortest-correct",
    "mode",
    flag_value="shortest-correct",
    default=True,
    help="Per problem, keep the shortest correct sample",
)
@click.option("--all-correct", "mode", flag_value="all-correct", help="Keep every distinct correct sample")
@click.option(
    "--max-tokens", type=click.IntRange(min=1), default=None, help="Drop completions longer than this"
)
@click.option("--drop-truncated", is_flag=True, help="Drop completions that hit the length limit")
@click.option(
    "--where", default=None, help="Keep only rows matching this SQL condition, e.g. \"source = 'gsm8k'\""
)
@click.option(
    "--rejected", type=click.Path(), default=None, help="Also write dropped rows (+ drop_reason) here"
)
@click.option("--sql", "show_sql", is_flag=True, help="Print the query instead of running it")
@overwrite_option
@json_option
def select(
    inputs: tuple[str, ...],
    output: str,
    mode: str,
    max_tokens: int | None,
    drop_truncated: bool,
    where: str | None,
    rejected: str | None,
    show_sql: bool,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Select a training pool from `verified` rows: correct, deduplicated, shortest per problem.

    Reads `verified`, writes `verified` (kept rows) and `<output>.stats.json`; every dropped row is
    counted under one reason: not_correct, truncated, too_long, where, duplicate, not_shortest.

    \b
    Example:
      tldr-data select system2.parquet -o long_pool.parquet --shortest-correct --max-tokens 16000
      tldr-data select system1.parquet -o short_pool.parquet --all-correct --where "source = 'gsm8k'"
    """
    from tldr_data import select as lib
    from tldr_data.duck import connect

    options = {"mode": mode, "max_tokens": max_tokens, "drop_truncated": drop_truncated, "where": where}
    if show_sql:
        click.echo(lib.select_sql(connect(), inputs, **options))
        return
    summary = lib.select(inputs, output, **options, rejected=rejected, overwrite=overwrite)
    dropped = ", ".join(f"{n:,} {reason}" for reason, n in summary["dropped"].items() if n) or "none"
    emit_summary(
        summary,
        f"kept {summary['kept']:,} of {summary['rows']:,} rows ({summary['problems_kept']:,} problems); "
        f"dropped {dropped} -> {output}",
        as_json,
    )
