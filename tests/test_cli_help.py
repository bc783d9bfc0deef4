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


@pytest.mark.parametrize(("group", "name"), all_commands(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_callback_is_named_after_its_command(group, name: str) -> None:
    assert group.commands[name].callback.__name__ == f"{name}_command"


def test_settings_options_show_the_library_defaults() -> None:
    from tldr_data.decoding import Decoding
    from tldr_train.training import Training

    generate = CliRunner().invoke(data_cli, ["generate", "--help"], terminal_width=200).stdout
    assert f"Sampling temperature; 0 means greedy  [default: {Decoding().temperature}]" in generate
    sft = CliRunner().invoke(train_cli, ["sft", "--help"], terminal_width=200).stdout
    assert f"Peak learning rate  [default: {Training().learning_rate}]" in sft


def test_generated_cli_reference_is_current() -> None:
    """docs/cli.md and the README's command table match --help (`just docs` regenerates them)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    check = [sys.executable, "-m", "cogapp", "--check", "-I", "docs", "docs/cli.md", "README.md"]
    result = subprocess.run(check, cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr + "\nrun `just docs`"
