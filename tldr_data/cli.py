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
