"""Click plumbing shared by `tldr-data` and `tldr-train`: error handling, shared options, summaries.

Library modules never import click; this module is the edge where TldrError becomes one line on
stderr and an exit code (1 runtime failure, 2 bad input), as in sqlite-utils' cli.py.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import sys
import traceback
import typing
from collections.abc import Callable, Collection
from typing import Any

import click

from tldr_data.errors import TldrError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "show_default": True}


class TldrCommand(click.Command):
    """A Click command whose number options refuse NaN and infinity, whatever their declared type.

    No setting of this toolkit means anything at NaN or infinity (a NaN compares false with every bound,
    so range checks let it through), so the check lives here once, for every float option of every
    command, and runs while parsing: before anything is loaded or written.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)
        for param in self.params:
            for value in _flatten(ctx.params.get(param.name)):
                if isinstance(value, float) and not math.isfinite(value):
                    raise click.BadParameter(f"{value} is not a finite number", ctx=ctx, param=param)
        return rest


def _flatten(value: Any) -> list[Any]:
    """A parameter's value as a flat list (multiple options and tuple types hold several)."""
    if isinstance(value, tuple | list):
        return [item for part in value for item in _flatten(part)]
    return [value]


class TldrGroup(click.Group):
    """A Click group that reports every error in one line with its exit code, never a traceback.

    TldrError and its kinds are the library's failures (exit 1) and bad input (exit 2); Click's usage errors
    (unknown or malformed options) exit 2 in the same one-line form; an OSError (disk full, no permission)
    is a runtime failure, exit 1, named by its file. An unexpected exception is a bug: it is
    reported in one line too, with the traceback only under `--debug` (set by the group callback into
    `ctx.obj`). Its commands are TldrCommands.
    """

    command_class = TldrCommand

    def list_commands(self, ctx: click.Context | None) -> list[str]:
        """Commands in the order cli.py defines them: the order of the pipeline's stages."""
        return list(self.commands)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TldrError as err:
            click.echo(f"Error: {_one_line(str(err))}", err=True)
            ctx.exit(err.exit_code)
        except click.UsageError as err:
            where = err.ctx.command_path if err.ctx else ctx.command_path
            click.echo(f"Error: {_one_line(err.format_message())} (see `{where} --help`)", err=True)
            ctx.exit(err.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except OSError as err:
            # The machine refused (disk full, file too large, permission, read-only): a runtime failure.
            where = f"{err.filename}: " if err.filename else ""
            click.echo(f"Error: {where}{_one_line(err.strerror or str(err))}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)
        except Exception as err:  # noqa: BLE001 - the one place unexpected errors are rendered
            if (ctx.obj or {}).get("debug"):
                traceback.print_exc()
            click.echo(
                f"Error: unexpected {type(err).__name__}: {_one_line(str(err))} "
                "(re-run with --debug for the traceback)",
                err=True,
            )
            ctx.exit(1)


def _one_line(text: str) -> str:
    """A message as one line: the contract is one line per error, whatever a library put in it."""
    return " ".join(part.strip() for part in text.strip().splitlines() if part.strip())


def settings_options(cls: type, name: str, exclude: Collection[str] = ()) -> Callable:
    """Click options built from a settings dataclass; the command receives one `cls` instance as `name`.

    Each field's metadata holds its `help`, optionally its `flags` (default `--field-name`) and `choices`;
    its default is the option's default, so `--help` shows the value the library uses. Fields without
    help (and those in `exclude`) stay at their defaults.
    """
    hints = typing.get_type_hints(cls)
    shown = [f for f in dataclasses.fields(cls) if "help" in f.metadata and f.name not in exclude]

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def command(*args: Any, **kwargs: Any) -> Any:
            kwargs[name] = cls(**{f.name: kwargs.pop(f.name) for f in shown})
            return fn(*args, **kwargs)

        for f in reversed(shown):
            flags = f.metadata.get("flags", ("--" + f.name.replace("_", "-"),))
            kinds = [t for t in typing.get_args(hints[f.name]) if t is not type(None)] or [hints[f.name]]
            kind = click.Choice(f.metadata["choices"]) if "choices" in f.metadata else kinds[0]
            if kind is bool and "/" in flags[0]:
                kind = None
            command = click.option(*flags, f.name, type=kind, default=f.default, help=f.metadata["help"])(
                command
            )
        return command

    return decorate


def output_option(help: str = "Output path", required: bool = True) -> Callable:
    """The `-o/--output` option every writing command shares."""
    return click.option("-o", "--output", type=click.Path(), required=required, help=help)


def json_option(fn: Callable) -> Callable:
    """`--json`: print a machine-readable summary on stdout instead of the human one."""
    return click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout")(fn)


def seed_option(fn: Callable) -> Callable:
    """`--seed`: one meaning across commands (the RNG seed of the stage)."""
    return click.option("--seed", type=int, default=0, help="Random seed")(fn)


def overwrite_option(fn: Callable) -> Callable:
    """`--overwrite`: allow replacing an existing output."""
    return click.option("--overwrite", is_flag=True, help="Replace an existing output")(fn)


def debug_option(fn: Callable) -> Callable:
    """`--debug` on a group: show tracebacks of unexpected errors."""

    def callback(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        ctx.ensure_object(dict)["debug"] = value
        return value

    return click.option(
        "--debug",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=callback,
        help="Show tracebacks of unexpected errors",
    )(fn)


def emit_summary(summary: dict[str, Any], line: str, as_json: bool) -> None:
    """Print a stage's result: JSON on stdout with --json, otherwise the one-line human summary."""
    if as_json:
        click.echo(json.dumps(summary, indent=2, default=str))
    else:
        click.echo(line)


def progress_enabled() -> bool:
    """Progress bars go to stderr, and only when someone is watching it."""
    return sys.stderr.isatty()
