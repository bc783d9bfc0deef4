"""`tldr-data`: the curation commands. Each one parses options and calls one library function.

Stage order, as below: problems (synth, teach: the toy world) -> import / generate -> verify ->
profile / select -> ratio -> mix -> push.
"""

from __future__ import annotations

import json
import os
import shlex

import click

from tldr_data.clitools import (
    CONTEXT_SETTINGS,
    TldrGroup,
    debug_option,
    emit_summary,
    json_option,
    output_option,
    overwrite_option,
    progress_enabled,
    seed_option,
    settings_options,
)
from tldr_data.decoding import Decoding
from tldr_data.paths import public_path
from tldr_data.prompts import DEFAULT_INSTRUCTION
from tldr_data.ratio import DEFAULT_C, DEFAULT_ETA, MODES


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


def _push_or_explain(folder: str, repo_id: str, revision: str | None, private: bool) -> dict:
    """Push, and on failure say where the local folder is and how to retry."""
    from tldr_data import hub
    from tldr_data.errors import HubError

    try:
        return hub.push(folder, repo_id, revision=revision, private=private)
    except HubError as err:
        retry = f"tldr-data push {folder} {repo_id}" + (f" --revision {revision}" if revision else "")
        raise HubError(f"{err}; the folder is kept at {folder}; retry with `{retry}`") from err


def _round_branch(round_: int | None) -> str | None:
    return None if round_ is None else f"round-{round_:03d}"


def _command_line(ctx: click.Context) -> str:
    """The command as the user could re-type it, rebuilt from parsed options (recorded in dataset cards).

    Paths appear as `public_path` shows them: cards are pushed to the Hub and must not name local folders.
    """
    words = ["tldr-data", ctx.info_name or ""]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if not isinstance(param, click.Option) or value in (None, False) or param.name == "as_json":
            continue
        flag = param.opts[-1] if param.opts[-1].startswith("--") else param.opts[0]
        if isinstance(value, str) and (os.path.isabs(value) or os.path.exists(value)):
            value = public_path(value)
        words += [flag] if value is True else [flag, str(value)]
    return shlex.join(words)


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


@cli.command("problems")
@click.argument("sources", nargs=-1, required=True)
@output_option("Output `problems` Parquet file")
@click.option("--config", default=None, help="Dataset config of a Hub id (e.g. `main` for openai/gsm8k)")
@click.option(
    "--split", default=None, help="Split to load from a dataset dict / Hub id, and the split of every row"
)
@click.option(
    "--question-field", default=None, help="Column holding the question (default: first known name)"
)
@click.option(
    "--answer-field", default=None, help="Column holding the gold answer (default: first known name)"
)
@click.option(
    "--source", default=None, help="Source name of every row (default: from the file name / dataset id)"
)
@overwrite_option
@json_option
def problems_command(
    sources: tuple[str, ...],
    output: str,
    config: str | None,
    split: str | None,
    question_field: str | None,
    answer_field: str | None,
    source: str | None,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Import problem sets (jsonl/json/parquet/csv, dataset folders, Hub ids) as `problems`.

    Adapters find the question and the gold answer of GSM8K (`#### 42`), MATH/MATH500 (`answer` or the last
    \\boxed{} of `solution`), AIME/AMC (`answer`, `ref_answer`) and Minerva (boxed `solution`); other shapes
    need --question-field/--answer-field. problem_id is the given id when unique, else
    sha1(source + "\\n" + question)[:16]. Several sources go into one file; a repeated problem_id with the
    same question and answer is dropped, with a different one it is an error.

    \b
    Example:
      tldr-data problems gsm8k_main_test.parquet math500_test.jsonl -o problems.parquet
      tldr-data problems openai/gsm8k --config main --split test -o gsm8k.parquet

    \b
    Output contract: problems (problem_id, source, question, answer, difficulty, split).
    """
    from tldr_data import problems

    summary = problems.import_problems(
        list(sources),
        output,
        config=config,
        split=split,
        question_field=question_field,
        answer_field=answer_field,
        source=source,
        overwrite=overwrite,
    )
    per_source = ", ".join(f"{name} {rows:,}" for name, rows in summary["sources"].items())
    line = f"imported {summary['rows']:,} problems ({per_source}) in {summary['seconds']:.1f}s -> {output}"
    emit_summary(summary, line, as_json)


@cli.command("synth")
@output_option("Output `problems` Parquet file")
@click.option("--levels", default="1-3", help="Levels to generate: a range (1-3) or a list (1,3)")
@click.option("--per-level", type=int, default=100, help="Problems per level")
@seed_option
@click.option("--split", default="train", help="Split of every row")
@click.option(
    "--exclude",
    multiple=True,
    type=click.Path(),
    help="`problems` Parquet file(s) whose questions must not repeat",
)
@overwrite_option
@json_option
def synth_command(
    output: str,
    levels: str,
    per_level: int,
    seed: int,
    split: str,
    exclude: tuple[str, ...],
    overwrite: bool,
    as_json: bool,
) -> None:
    """Generate the built-in arithmetic world, where a copying shortcut is right on easy problems only.

    Every question is a digit and two pairs of single-digit +/- steps, every running result a digit.
    Level 1 (`What is 7 + 2 - 2 - 4 + 4?`): both pairs cancel, so the answer is the first number;
    level 2 (`Find 7 + 2 - 3 - 4 + 4.`): one pair does not; level 3: neither does (729, 11,664 and
    46,656 questions). Easy and hard problems read differently, as two sources would. difficulty =
    level, source = synth-arith. The same seed gives the same rows; --exclude keeps splits disjoint.

    \b
    Example:
      tldr-data synth -o train.parquet --levels 1-3 --per-level 200 --seed 1
      tldr-data synth -o dev.parquet --levels 1-3 --per-level 50 --seed 2 --split dev --exclude train.parquet

    \b
    Output contract: problems (problem_id, source, question, answer, difficulty, split).
    """
    from tldr_data.toy import synth

    summary = synth.synth(
        output,
        levels=synth.parse_levels(levels),
        per_level=per_level,
        seed=seed,
        split=split,
        exclude=list(exclude),
        overwrite=overwrite,
    )
    per_level_rows = ", ".join(f"L{level} {rows:,}" for level, rows in summary["levels"].items())
    line = (
        f"generated {summary['rows']:,} problems ({per_level_rows}) in {summary['seconds']:.1f}s -> {output}"
    )
    emit_summary(summary, line, as_json)


@cli.command("teach")
@click.option(
    "-i", "--input", "input_path", required=True, type=click.Path(), help="`problems` file from synth"
)
@output_option("Output `traces` Parquet file")
@click.option(
    "--system", type=click.Choice(["system1", "system2"]), required=True, help="Which teacher to play"
)
@click.option("-n", "--samples", type=int, default=1, help="Traces per problem")
@click.option(
    "--min-rechecks", type=int, default=0, help="System-2: fewest redundant re-check passes per trace"
)
@click.option(
    "--max-rechecks", type=int, default=2, help="System-2: most redundant re-check passes per trace"
)
@click.option(
    "--instruction",
    default=DEFAULT_INSTRUCTION,
    help=dict(Decoding.__dataclass_fields__["instruction"].metadata)["help"],
)
@seed_option
@overwrite_option
@json_option
def teach_command(input_path: str, output: str, as_json: bool, **options) -> None:
    """Write scripted System-1 / System-2 teacher traces for synth problems.

    Reads `problems` (from `tldr-data synth`), writes `traces`. The System-1 teacher takes the shortcut
    (the pairs cancel: the first number), right on level 1 only; the System-2 teacher works step by step
    and re-checks itself --min-rechecks..--max-rechecks times. Run `verify
    --tokenizer MODEL` on the result to count tokens, then `mix` to make SFT data for tiny models.

    \b
    Example:
      tldr-data teach -i train.parquet --system system2 -n 2 -o teach/s2.parquet
    """
    from tldr_data.toy import teacher

    summary = teacher.teach(input_path, output, **options)
    line = f"taught {summary['rows']:,} {summary['system']} traces -> {output}"
    emit_summary(summary, line, as_json)


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
    from tldr_data import importers

    summary = importers.import_traces(
        inputs, output, format=fmt, system=system, model=model, overwrite=overwrite
    )
    emit_summary(
        summary,
        f"imported {summary['rows']:,} responses to {summary['problems']:,} problems -> {output}",
        as_json,
    )


@cli.command("generate")
@click.option(
    "-m", "--model", required=True, help="Hub id or local model folder (the server's model name for openai)"
)
@click.option(
    "-i", "--input", "input_path", required=True, type=click.Path(), help="`problems` Parquet file or folder"
)
@output_option("Output folder of `traces` shards (re-running resumes it)")
@click.option("--system", required=True, help="Label of the traces: system1, system2 or your own")
@settings_options(Decoding, "decoding")
@click.option(
    "--backend", default=None, help="vllm, transformers, openai or fake [default: vllm if installed]"
)
@click.option(
    "--tokenizer", default=None, help="Tokenizer for the chat template and token counts [default: MODEL]"
)
@click.option("--batch-size", type=int, default=256, help="Samples per shard (the work a kill can lose)")
@click.option("--tensor-parallel-size", type=int, help="GPUs per model replica (vllm)  [default: 1]")
@click.option(
    "--base-url", default=None, help="OpenAI-compatible server URL, e.g. http://localhost:8000/v1 (openai)"
)
@click.option("--api-key", default=None, help="API key (openai) [default: $OPENAI_API_KEY]")
@click.option("--concurrency", type=int, help="Requests in flight (openai)  [default: 8]")
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
@click.option(
    "--data-parallel",
    type=int,
    default=1,
    metavar="K",
    help="Run the K parts as K processes, each on its own --tensor-parallel-size GPUs (logs: OUTPUT/logs/)",
)
@click.option("--limit", type=int, default=None, help="Only the first N problems")
@click.option("--allow-mixed", is_flag=True, help="Add traces of other settings to a folder that holds some")
@json_option
def generate_command(
    model: str,
    input_path: str,
    output: str,
    data_parallel: int,
    tensor_parallel_size: int | None,
    base_url: str | None,
    api_key: str | None,
    concurrency: int | None,
    backend_options: dict,
    as_json: bool,
    **options,
) -> None:
    """Sample completions for each problem with a local or served model.

    Reads `problems`, writes a folder of `traces` Parquet shards (every problems column, the rendered prompt,
    completion, finish_reason, token counts and gen_config). Re-running the same command skips the samples
    already written, so a killed run resumes where it stopped.

    \b
    Example:
      tldr-data generate -m Qwen/Qwen2.5-7B-Instruct --system system1 -i problems.parquet -o traces/s1 \\
          -n 4 --temperature 0.7 --max-tokens 4096
      vllm serve MODEL & tldr-data generate -m MODEL --backend openai --base-url http://localhost:8000/v1 ...
      tldr-data generate -m MODEL ... --data-parallel 4 --tensor-parallel-size 2   # 8 GPUs, 4 engines
    """
    from tldr_data import generate, parallel

    engine_flags = {
        "tensor_parallel_size": tensor_parallel_size,
        "base_url": base_url,
        "api_key": api_key,
        "concurrency": concurrency,
    }
    # The engine flags are the commonest backend options; they fill the backend's Options like -O does.
    engine = {**backend_options, **{key: value for key, value in engine_flags.items() if value is not None}}
    if data_parallel == 1:
        summary = generate.generate(
            model, input_path, output, backend_options=engine, progress=progress_enabled(), **options
        )
    else:
        logs = os.path.join(output, "logs")
        summary = parallel.generate_parallel(
            model, input_path, output, processes=data_parallel, logs=logs, backend_options=engine, **options
        )
    reasons = summary["finish_reasons"]
    line = (
        f"generated {summary['rows_written']:,} rows ({summary['rows_skipped']:,} already there) for "
        f"{summary['problems']:,} problems, {summary['completion_tokens']:,} tokens "
        f"in {summary['seconds']:.1f}s ({summary['tokens_per_s']:,.0f} tok/s; "
        f"stop {reasons.get('stop', 0)}, length {reasons.get('length', 0)}) -> {output}"
    )
    emit_summary(summary, line, as_json)


@cli.command("backends")
@json_option
def backends_command(as_json: bool) -> None:
    """List the generation backends, their capabilities and options.

    \b
    Example:
      tldr-data backends --json
    """
    from tldr_data import backends

    rows = [backends.get_backend(name).capabilities() for name in backends.BACKENDS]
    if as_json:
        click.echo(json.dumps({"default": backends.default_backend(), "backends": rows}, indent=2))
        return
    for row in rows:
        options = ", ".join(f"{k}={v}" for k, v in row["options"].items())
        flags = [flag for flag in ("counts_tokens", "per_request_seed") if row[flag]]
        click.echo(f"{row['name']:<13} {row['description']}  [{', '.join(flags)}]  options: {options}")


@cli.command("verify")
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@output_option("Output `verified` Parquet file")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Worker processes [default: cores]")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=5.0, help="Seconds per item")
@click.option("--tokenizer", default=None, help="Tokenizer for rows to count [default: each row's `model`]")
@overwrite_option
@json_option
def verify_command(
    inputs: tuple[str, ...],
    output: str,
    workers: int | None,
    timeout: float,
    tokenizer: str | None,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Check every trace's answer with math-verify; count tokens no engine counted.

    Reads `traces` (files or folders of shards), writes `verified` (every row, in input order, with
    `pred_answer`, `correct`, `verdict`) plus `<output>.stats.json`. An item slower than --timeout is
    killed and labelled `timeout`. Rows counted by their engine (`token_source`) keep their counts; the
    others (imported logs, teacher traces) are counted with --tokenizer or each row's model. How answers
    are found and compared: docs/answers.md. A killed run resumes from its finished shards.

    \b
    Example:
      tldr-data verify traces/ -o verified.parquet --workers 8 --tokenizer Qwen/Qwen2.5-7B-Instruct
    """
    from tldr_data import verify

    summary = verify.verify(
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


@cli.command("profile")
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("--by", default="system,source", help="Comma-separated group columns ('' for one group)")
@click.option(
    "--plot", "plot_path", type=click.Path(), default=None, help="Write token histograms to this PNG"
)
@click.option("--sql", "show_sql", is_flag=True, help="Print the query instead of running it")
@json_option
def profile_command(
    inputs: tuple[str, ...], by: str, plot_path: str | None, show_sql: bool, as_json: bool
) -> None:
    """Profile accuracy and thinking length per group of `verified` rows.

    Per group: n, accuracy, mean/median/p90/max completion tokens, truncated_rate and pass_at_k (k =
    samples per problem; null with one sample). Timeouts and errors count as wrong, and their tokens count.

    \b
    Example:
      tldr-data profile verified.parquet --by system,source --plot lengths.png
      tldr-data profile verified/ --by source --json | jq '.[] | {source, accuracy}'
    """
    from tldr_data import duck, profile

    keys = [name.strip() for name in by.split(",") if name.strip()]
    if show_sql:
        click.echo(profile.profile_sql(duck.connect(), inputs, keys))
        return
    rows = profile.profile(inputs, by=keys)
    if plot_path:
        profile.plot(inputs, rows, keys, plot_path)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
    else:
        click.echo(profile.render_table(rows, keys))


@cli.command("select")
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@output_option("Output pool, `verified` Parquet file")
@click.option(
    "--shortest-correct", is_flag=True, help="Per problem, keep the shortest correct sample  [default]"
)
@click.option("--all-correct", is_flag=True, help="Keep every distinct correct sample")
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
def select_command(
    inputs: tuple[str, ...],
    output: str,
    shortest_correct: bool,
    all_correct: bool,
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
    from tldr_data import duck, select

    if shortest_correct and all_correct:
        raise click.UsageError("--shortest-correct and --all-correct contradict each other; give one")
    mode = "all-correct" if all_correct else "shortest-correct"
    options = {"mode": mode, "max_tokens": max_tokens, "drop_truncated": drop_truncated, "where": where}
    if show_sql:
        click.echo(select.select_sql(duck.connect(), inputs, **options))
        return
    summary = select.select(inputs, output, **options, rejected=rejected, overwrite=overwrite)
    dropped = ", ".join(f"{n:,} {reason}" for reason, n in summary["dropped"].items() if n) or "none"
    emit_summary(
        summary,
        f"kept {summary['kept']:,} of {summary['rows']:,} rows ({summary['problems_kept']:,} problems); "
        f"dropped {dropped} -> {output}",
        as_json,
    )


@cli.command("ratio")
@click.option(
    "--refs",
    required=True,
    help="Reference points T_S,A_S,T_L,A_L (System-1 then System-2 mean tokens, accuracy)",
)
@click.option("--alpha", type=float, required=True, help="Short-pool weight the evaluated round trained with")
@click.option("--acc", type=float, required=True, help="Dev accuracy of the current model")
@click.option("--tokens", type=float, required=True, help="Mean dev completion tokens of the current model")
@click.option("--eta", type=float, default=DEFAULT_ETA, help="Step size")
@click.option("--floor", "c", type=float, default=DEFAULT_C, help="Floor mass c keeping both pools alive")
@click.option("--mode", type=click.Choice(MODES), default="tldr", help="constant: static mixture")
@json_option
def ratio_command(
    refs: str,
    alpha: float,
    acc: float,
    tokens: float,
    eta: float,
    c: float,
    mode: str,
    as_json: bool,
) -> None:
    """Compute the next short/long mixture ratio from a dev evaluation.

    Applies the TLDR update (docs/ALGORITHM.md): more short data while the model is longer than the
    System-1 reference, more long data while it is less accurate than the System-2 reference. To record
    the update in a run folder, use `tldr-train record`.

    \b
    Example:
      tldr-data ratio --refs 1120.9,0.289,7379.6,0.756 --alpha 0.5 --acc 0.60 --tokens 7000
    """
    from tldr_data import ratio

    step = ratio.update(alpha, acc, tokens, ratio.References.parse(refs), eta=eta, c=c, mode=mode)
    summary = {**vars(step), "previous_alpha_short": alpha}
    line = (
        f"alpha_short {summary['alpha_short']:.6f}  alpha_long {summary['alpha_long']:.6f}  "
        f"(b_short {summary['b_short']:.4f}, b_long {summary['b_long']:.4f}; "
        f"was {summary['previous_alpha_short']:.6f})"
    )
    emit_summary(summary, line, as_json)


@cli.command("mix")
@click.option(
    "--short", "short_pool", required=True, help="Short (System-1) pool: verified Parquet file or folder"
)
@click.option(
    "--long", "long_pool", required=True, help="Long (System-2) pool: verified Parquet file or folder"
)
@click.option("--ratio", type=float, required=True, help="Short-pool weight alpha_short in [0, 1]")
@click.option("--size", type=int, required=True, help="Rows in the mixture")
@output_option("Output dataset folder")
@seed_option
@click.option("--replace", is_flag=True, help="Draw with replacement (allows pools smaller than their share)")
@click.option("--round", "round_", type=int, help="Round number (recorded; part of the draw)")
@overwrite_option
@click.option("--push-to-hub", "repo_id", help="Also upload the folder to this Hub dataset repo ORG/NAME")
@click.option("--private", is_flag=True, help="Create the Hub repo as private")
@click.option("--revision", help="Hub branch to push to  [default: round-NNN when the round is known]")
@json_option
@click.pass_context
def mix_command(
    ctx: click.Context,
    short_pool: str,
    long_pool: str,
    ratio: float,
    size: int,
    output: str,
    seed: int,
    replace: bool,
    round_: int | None,
    overwrite: bool,
    repo_id: str | None,
    private: bool,
    revision: str | None,
    as_json: bool,
) -> None:
    """Draw a mixture with exact short/long counts into a Hub-ready dataset folder.

    Reads two `verified` pools (from `tldr-data select`); writes the `mixture` contract: a folder with
    data/*.parquet in TRL's conversational prompt-completion format and a README.md dataset card.
    round(ratio * size) rows come from the short pool, the rest from the long one, each drawn from a
    seeded shuffle. With --push-to-hub each round goes to its own branch (round-003).

    \b
    Example:
      tldr-data mix --short short.parquet --long long.parquet --ratio 0.5 --size 256 -o mix/
      tldr-data mix --short s.parquet --long l.parquet --ratio 0.9184 --round 1 --size 256 \\
          -o run/round-001/mix --push-to-hub me/tldr-mix
    """
    from tldr_data import hub, mix

    if repo_id:
        hub.check_push(repo_id, revision or _round_branch(round_))
    summary = mix.mix(
        short_pool,
        long_pool,
        output,
        ratio=ratio,
        size=size,
        seed=seed,
        replace=replace,
        round=round_,
        command=_command_line(ctx),
        overwrite=overwrite,
    )
    counts = summary["rows_per_pool"]
    line = (
        f"mixed {size:,} rows ({counts['short']:,} short + {counts['long']:,} long, alpha_short {ratio:.4f}) "
        f"in {summary['seconds']:.1f}s -> {output}"
    )
    if repo_id:
        summary["hub"] = _push_or_explain(output, repo_id, revision or _round_branch(round_), private)
        line += f"; pushed to {summary['hub']['url']}"
    emit_summary(summary, line, as_json)


@cli.command("push")
@click.argument("folder", type=click.Path())
@click.argument("repo_id")
@click.option("--revision", help="Hub branch to push to (created if missing)  [default: main]")
@click.option("--private", is_flag=True, help="Create the Hub repo as private")
@json_option
def push_command(folder: str, repo_id: str, revision: str | None, private: bool, as_json: bool) -> None:
    """Upload a folder the toolkit wrote (e.g. a mixture) to a Hugging Face Hub dataset repo.

    Uses the token in HF_TOKEN (or the one saved by `hf auth login`); 429 and 5xx answers are retried
    with backoff. The folder is never modified.

    \b
    Example:
      tldr-data push run/round-003/mix me/tldr-mix --revision round-003
    """
    summary = _push_or_explain(folder, repo_id, revision, private)
    emit_summary(summary, f"pushed {len(summary['files'])} files from {folder} -> {summary['url']}", as_json)
