"""`tldr-train`: tiny models, SFT, TLDR rounds, evaluation and reports.

Each command parses options and calls one library function; heavy imports (torch, TRL, vLLM)
happen inside those functions so that `--help` stays instant.
"""

from __future__ import annotations

import click

from tldr_data.clitools import CONTEXT_SETTINGS, TldrGroup, debug_option


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
