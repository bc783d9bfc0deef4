"""Render both CLIs' `--help` into docs/cli.md and the README's command table (run by cog: `just docs`)."""

from __future__ import annotations

from click.testing import CliRunner

from tldr_data.cli import cli as data_cli
from tldr_train.cli import cli as train_cli

GROUPS = {"tldr-data": data_cli, "tldr-train": train_cli}
WIDTH = 100


def help_text(prog: str, args: list[str]) -> str:
    """What `prog ARGS --help` prints, at a fixed width so the output does not depend on the terminal."""
    result = CliRunner().invoke(GROUPS[prog], [*args, "--help"], prog_name=prog, terminal_width=WIDTH)
    return result.stdout


def reference() -> str:
    """Every group's and command's help, in pipeline order."""
    parts = []
    for prog, group in GROUPS.items():
        parts.append(f"## {prog}\n\n```text\n{help_text(prog, [])}```\n")
        for name in group.list_commands(None):
            parts.append(f"### {prog} {name}\n\n```text\n{help_text(prog, [name])}```\n")
    return "\n".join(parts)


def command_table(link: str = "docs/cli.md") -> str:
    """One row per command: its name (linked to its reference) and the first line of its help."""
    rows = ["| command | what it does |", "| --- | --- |"]
    for prog, group in GROUPS.items():
        for name in group.list_commands(None):
            summary = group.commands[name].get_short_help_str(limit=200)
            rows.append(f"| [`{prog} {name}`]({link}#{prog}-{name}) | {summary} |")
    return "\n".join(rows) + "\n"
