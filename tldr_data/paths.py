"""How a command's paths relate: outputs never overwrite its inputs or each other, nor name local folders.

`check_outputs` runs before anything is read or written: an output that is one of the inputs (or lies inside
an input folder, where the next run would read it back) or that is another output of the same command would
destroy data, so it is refused as bad usage. `public_path` is how a path appears in anything that leaves the
machine (dataset cards, reports pushed to the Hub): never an absolute path that names the user's folders.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from tldr_data.errors import InputError


def check_outputs(
    outputs: Mapping[str, str | os.PathLike | None], inputs: Sequence[str | os.PathLike] = ()
) -> None:
    """Refuse an output (option -> path) equal to another output or an input, or inside an input folder."""
    seen: dict[Path, str] = {}
    for option, path in outputs.items():
        if path is None:
            continue
        resolved = Path(path).resolve()
        if resolved in seen:
            raise InputError(
                f"{option} {path}: the same path as {seen[resolved]}; give two different outputs"
            )
        seen[resolved] = option
        for given in inputs:
            if "://" in str(given):
                continue
            source = Path(given).resolve()
            if resolved == source:
                raise InputError(f"{option} {path}: it is also an input; write the output elsewhere")
            if source.is_dir() and source in resolved.parents:
                raise InputError(
                    f"{option} {path}: it lies inside the input folder {given}; write the output elsewhere"
                )


def public_path(path: str | os.PathLike, start: str | os.PathLike | None = None) -> str:
    """`path` as it may be shown to others: relative to `start` (default: the working folder) when inside
    it, else the file or folder name alone. Remote URLs are kept."""
    text = str(path)
    if "://" in text:
        return text
    base = Path(start or os.getcwd()).resolve()
    resolved = Path(text).resolve()
    try:
        return resolved.relative_to(base).as_posix() or "."
    except ValueError:
        return resolved.name
