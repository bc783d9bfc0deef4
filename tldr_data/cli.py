"""`tldr-data`: the curation commands. Each one parses options and calls one library function.

Stage order: problems/synth -> generate -> verify -> profile/select -> ratio -> mix -> push.
"""

from __future__ import annotations

import click

from tldr_data.clitools import CONTEXT_SETTINGS, TldrGroup, debug_option, emit_summary, json_option


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


# --- ratio / mix / push: the TLDR ratio, the re-weighted mixture, the Hub ---------------------------------------


@cli.command()
@click.option("--refs", help="Reference points T_S,A_S,T_L,A_L (System-1 then System-2 mean tokens, accuracy)")
@click.option("--alpha", type=float, help="Short-pool weight the evaluated round trained with")
@click.option("--acc", type=float, required=True, help="Dev accuracy of the current model")
@click.option("--tokens", type=float, required=True, help="Mean dev completion tokens of the current model")
@click.option("--eta", type=float, help="Step size  [default: 4.0]")
@click.option("--c", "c", type=float, help="Floor mass that keeps both pools alive  [default: 0.0001]")
@click.option("--mode", type=click.Choice(["tldr", "constant"]), help="constant: static mixture  [default: tldr]")
@click.option("--state", type=click.Path(), help="Run state JSON: read refs/ratio/settings, append the update")
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
            raise click.UsageError(f"{', '.join(clashing)} cannot be combined with --state (the run state records them)")
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
            alpha, acc, tokens, References.parse(refs),
            eta=DEFAULT_ETA if eta is None else eta, c=DEFAULT_C if c is None else c, mode=mode or "tldr",
        )
        summary = {**vars(step), "previous_alpha_short": alpha}
    line = (
        f"alpha_short {summary['alpha_short']:.6f}  alpha_long {summary['alpha_long']:.6f}  "
        f"(b_short {summary['b_short']:.4f}, b_long {summary['b_long']:.4f}; was {summary['previous_alpha_short']:.6f})"
    )
    emit_summary(summary, line, as_json)
