"""Every command of both CLIs has help text that starts with a one-line summary."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tldr_data.cli import cli as data_cli
from tldr_train.cli import cli as train_cli


def all_commands() -> list[tuple[object, str]]:
    return [(group, name) for group in (data_cli, train_cli) for name in sorted(group.commands)]


@pytest.mark.parametrize("group", [data_cli, train_cli], ids=["tldr-data", "tldr-train"])
def test_group_help_lists_commands(group) -> None:
    result = CliRunner().invoke(group, ["--help"], catch_exceptions=False)
    assert result.exit_code == 0
    for name in group.commands:
        assert name in result.stdout


@pytest.mark.parametrize(("group", "name"), all_commands(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_command_has_help(group, name: str) -> None:
    result = CliRunner().invoke(group, [name, "--help"], catch_exceptions=False)
    assert result.exit_code == 0
    assert group.commands[name].get_short_help_str().strip(), f"{name} has no summary line"


def test_unknown_command_is_usage_error() -> None:
    result = CliRunner().invoke(data_cli, ["no-such-command"])
    assert result.exit_code == 2
