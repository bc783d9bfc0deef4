"""The done-marker of a resumable stage: one convention for generate, verify, sft, mix and measurements.

A stage that finishes writes `<output>.done.json` beside its output (a file or a folder), atomically and last,
holding its summary. A re-run reads it to skip finished work. The marker sits beside the output, never inside
it, so a mixture pushed to the Hub or a checkpoint loaded by an engine holds only its own files; `discard`
removes the marker before the output, so a kill between the two never leaves a marker without its output.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from tldr_data.atomic import write_json

SUFFIX = ".done.json"


def done_path(output: str | os.PathLike) -> Path:
    """The marker of `output`: `x.parquet` -> `x.parquet.done.json`, `ckpt/` -> `ckpt.done.json`."""
    target = Path(output)
    return target.with_name(target.name + SUFFIX)


def mark_done(output: str | os.PathLike, summary: dict[str, Any]) -> Path:
    """Record that `output` is complete; call it after the output is written."""
    return write_json(summary, done_path(output))


def read_done(output: str | os.PathLike) -> dict[str, Any] | None:
    """The summary of a finished `output`, or None when it is unfinished (no marker, or no output)."""
    marker = done_path(output)
    if not marker.is_file() or not Path(output).exists():
        return None
    return json.loads(marker.read_text())


def clear_done(output: str | os.PathLike) -> None:
    """Forget that `output` was finished, before a stage starts rewriting it."""
    done_path(output).unlink(missing_ok=True)


def discard(output: str | os.PathLike) -> None:
    """Remove a stage's output and its marker (marker first), e.g. when it went stale."""
    clear_done(output)
    target = Path(output)
    if target.is_dir():
        shutil.rmtree(target)
    else:
        target.unlink(missing_ok=True)
