"""`tldr-data`: the curation commands. Each one parses options and calls one library function.

Stage order: problems/synth -> generate -> verify -> profile/select -> ratio -> mix -> push.
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


# --- problems / synth: problem sets in, `problems` out ---


@cli.command()
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
def problems(
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
    from tldr_data.problems import import_problems

    summary = import_problems(
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


@cli.command()
@output_option("Output `problems` Parquet file")
@click.option("--levels", default="1-6", help="Levels to generate: a range (1-6) or a list (1,3,5)")
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
def synth(
    output: str,
    levels: str,
    per_level: int,
    seed: int,
    split: str,
    exclude: tuple[str, ...],
    overwrite: bool,
    as_json: bool,
) -> None:
    """Generate the built-in arithmetic world: +/- chains that get harder with the level.

    Level L has L+1 operands, single-digit up to level 2 and two-digit above (`What is 47 + 18 - 35?`);
    difficulty = level, source = synth-arith. The same seed gives the same rows; --exclude keeps splits
    disjoint.

    \b
    Example:
      tldr-data synth -o train.parquet --levels 1-6 --per-level 200 --seed 1
      tldr-data synth -o dev.parquet --levels 1-6 --per-level 50 --seed 2 --split dev --exclude train.parquet

    \b
    Output contract: problems (problem_id, source, question, answer, difficulty, split).
    """
    from tldr_data.synth import parse_levels
    from tldr_data.synth import synth as make_synth

    summary = make_synth(
        output,
        levels=parse_levels(levels),
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
