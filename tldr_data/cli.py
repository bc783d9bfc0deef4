"""`tldr-data`: the curation commands. Each one parses options and calls one library function.

Stage order: problems/synth -> generate -> verify -> profile/select -> ratio -> mix -> push.
"""

from __future__ import annotations

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


# --- ratio / mix / push: the TLDR ratio, the re-weighted mixture, the Hub -----------------------------------


@cli.command()
@click.option(
    "--refs", help="Reference points T_S,A_S,T_L,A_L (System-1 then System-2 mean tokens, accuracy)"
)
@click.option("--alpha", type=float, help="Short-pool weight the evaluated round trained with")
@click.option("--acc", type=float, required=True, help="Dev accuracy of the current model")
@click.option("--tokens", type=float, required=True, help="Mean dev completion tokens of the current model")
@click.option("--eta", type=float, help="Step size  [default: 4.0]")
@click.option("--c", "c", type=float, help="Floor mass that keeps both pools alive  [default: 0.0001]")
@click.option(
    "--mode", type=click.Choice(["tldr", "constant"]), help="constant: static mixture  [default: tldr]"
)
@click.option(
    "--state", type=click.Path(), help="Run state JSON: read refs/ratio/settings, append the update"
)
@json_option
def ratio(
    refs: str | None,
    alpha: float | None,
    acc: float,
    tokens: float,
    eta: float | None,
    c: float | None,
    mode: str | None,
    state: str | None,
    as_json: bool,
) -> None:
    """Compute the next short/long mixture ratio from a dev evaluation.

    Applies the TLDR update (docs/ALGORITHM.md): more short data while the model is longer than the
    System-1 reference, more long data while it is less accurate than the System-2 reference. With
    --state, references, current ratio and eta/c/mode come from the run state, and the update is
    appended to its history.

    \b
    Example:
      tldr-data ratio --refs 1120.9,0.289,7379.6,0.756 --alpha 0.5 --acc 0.60 --tokens 7000
      tldr-data ratio --state run/state.json --acc 0.60 --tokens 7000 --json
    """
    from tldr_data.ratio import DEFAULT_C, DEFAULT_ETA, References, update
    from tldr_data.runstate import RunState

    if state:
        given = {"--refs": refs, "--alpha": alpha, "--eta": eta, "--c": c, "--mode": mode}
        clashing = [name for name, value in given.items() if value is not None]
        if clashing:
            raise click.UsageError(
                f"{', '.join(clashing)} cannot be combined with --state (the run state records them)"
            )
        run = RunState.load(state)
        entry = run.record(acc, tokens)
        run.save(state)
        alpha_short = entry["next_alpha_short"]
        summary = {
            "alpha_short": alpha_short,
            "alpha_long": 1.0 - alpha_short,
            "b_short": entry["b_short"],
            "b_long": entry["b_long"],
            "round": entry["round"],
            "previous_alpha_short": entry["alpha_short"],
            "state": state,
        }
    else:
        missing = [name for name, value in (("--refs", refs), ("--alpha", alpha)) if value is None]
        if missing:
            raise click.UsageError(f"{' and '.join(missing)} required without --state")
        step = update(
            alpha,
            acc,
            tokens,
            References.parse(refs),
            eta=DEFAULT_ETA if eta is None else eta,
            c=DEFAULT_C if c is None else c,
            mode=mode or "tldr",
        )
        summary = {**vars(step), "previous_alpha_short": alpha}
    line = (
        f"alpha_short {summary['alpha_short']:.6f}  alpha_long {summary['alpha_long']:.6f}  "
        f"(b_short {summary['b_short']:.4f}, b_long {summary['b_long']:.4f}; "
        f"was {summary['previous_alpha_short']:.6f})"
    )
    emit_summary(summary, line, as_json)


@cli.command()
@click.option(
    "--short", "short_pool", required=True, help="Short (System-1) pool: verified Parquet file or folder"
)
@click.option(
    "--long", "long_pool", required=True, help="Long (System-2) pool: verified Parquet file or folder"
)
@click.option("--ratio", type=float, help="Short-pool weight alpha_short in [0, 1]")
@click.option(
    "--state", type=click.Path(), help="Run state JSON: take the current ratio, round and seed from it"
)
@click.option("--size", type=int, required=True, help="Rows in the mixture")
@output_option("Output dataset folder")
@click.option("--seed", type=int, help="Random seed  [default: 0, or the run state's]")
@click.option("--replace", is_flag=True, help="Draw with replacement (allows pools smaller than their share)")
@click.option("--round", "round_", type=int, help="Round number (recorded; part of the draw)")
@overwrite_option
@click.option("--push-to-hub", "repo_id", help="Also upload the folder to this Hub dataset repo ORG/NAME")
@click.option("--private", is_flag=True, help="Create the Hub repo as private")
@click.option("--revision", help="Hub branch to push to  [default: round-NNN when the round is known]")
@json_option
@click.pass_context
def mix(
    ctx: click.Context,
    short_pool: str,
    long_pool: str,
    ratio: float | None,
    state: str | None,
    size: int,
    output: str,
    seed: int | None,
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
      tldr-data mix --short s.parquet --long l.parquet --state run/state.json --size 256 \\
          -o run/round-001/mix --push-to-hub me/tldr-mix
    """
    from tldr_data.mix import mix as draw_mixture
    from tldr_data.runstate import RunState

    if (ratio is None) == (state is None):
        raise click.UsageError("give exactly one of --ratio and --state")
    if state:
        run = RunState.load(state)
        ratio = run.current_alpha
        if round_ is None:
            round_ = run.history[-1]["round"] + 1 if run.history else 0
        seed = run.seed if seed is None else seed
    summary = draw_mixture(
        short_pool,
        long_pool,
        output,
        ratio=ratio,
        size=size,
        seed=seed or 0,
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


@cli.command()
@click.argument("folder", type=click.Path())
@click.argument("repo_id")
@click.option("--revision", help="Hub branch to push to (created if missing)  [default: main]")
@click.option("--private", is_flag=True, help="Create the Hub repo as private")
@json_option
def push(folder: str, repo_id: str, revision: str | None, private: bool, as_json: bool) -> None:
    """Upload a folder the toolkit wrote (e.g. a mixture) to a Hugging Face Hub dataset repo.

    Uses the token in HF_TOKEN (or the one saved by `hf auth login`); 429 and 5xx answers are retried
    with backoff. The folder is never modified.

    \b
    Example:
      tldr-data push run/round-003/mix me/tldr-mix --revision round-003
    """
    summary = _push_or_explain(folder, repo_id, revision, private)
    emit_summary(summary, f"pushed {len(summary['files'])} files from {folder} -> {summary['url']}", as_json)


def _push_or_explain(folder: str, repo_id: str, revision: str | None, private: bool) -> dict:
    """Push, and on failure say where the local folder is and how to retry."""
    from tldr_data.errors import HubError
    from tldr_data.hub import push as push_folder

    try:
        return push_folder(folder, repo_id, revision=revision, private=private)
    except HubError as err:
        retry = f"tldr-data push {folder} {repo_id}" + (f" --revision {revision}" if revision else "")
        raise HubError(f"{err}; the folder is kept at {folder}; retry with `{retry}`") from err


def _round_branch(round_: int | None) -> str | None:
    return None if round_ is None else f"round-{round_:03d}"


def _command_line(ctx: click.Context) -> str:
    """The command as the user could re-type it, rebuilt from parsed options (recorded in dataset cards)."""
    words = ["tldr-data", ctx.info_name or ""]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if not isinstance(param, click.Option) or value in (None, False) or param.name == "as_json":
            continue
        flag = param.opts[-1] if param.opts[-1].startswith("--") else param.opts[0]
        words += [flag] if value is True else [flag, str(value)]
    return shlex.join(words)
