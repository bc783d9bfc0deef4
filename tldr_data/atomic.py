"""Write files so that a killed process never leaves a partial output behind.

Every output is written to a hidden temporary beside it and renamed into place. A temporary's name carries
the writer's pid (`.NAME.PID.RANDOM.tmp`), so the next writer of the same output deletes the ones a killed
process left (`sweep_stale`). Outputs get the permissions of an ordinary file (0666 minus the umask); the
temporaries themselves are private until renamed.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tldr_data.errors import InputError, TldrError
from tldr_data.lock import output_lock


def umask() -> int:
    """The process umask, read without changing it where /proc allows (changing it races with threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def ordinary_modes(folder: str | os.PathLike) -> None:
    """Give every file and folder under `folder` the permissions of an ordinary one (0666 or 0777 minus the
    umask): libraries that write through private temporaries (safetensors writes weights 0600) would
    otherwise hide model files from the others who share the data."""
    mask = umask()
    os.chmod(folder, 0o777 & ~mask)
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o777 & ~mask)
        for name in files:
            path = os.path.join(root, name)
            executable = os.stat(path).st_mode & 0o111
            os.chmod(path, (0o777 if executable else 0o666) & ~mask)


def _prepare(target: Path, kind: str) -> None:
    """Create the output's parent folder; an output path that cannot be one is bad input, named."""
    for parent in reversed(target.parents):
        if parent.exists() and not parent.is_dir():
            raise InputError(f"{target}: {parent} is a file, not a folder")
    if kind == "file" and target.is_dir():
        raise InputError(f"{target}: is a folder; the output is a file")
    if kind == "folder" and target.exists() and not target.is_dir():
        raise InputError(f"{target}: is a file; the output is a folder")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise TldrError(f"{target}: cannot create its folder ({err.strerror or err})") from None


def _temp_name(target: Path, suffix: str) -> Path:
    return target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(6)}.{suffix}"


def sweep_stale(folder: str | os.PathLike, name: str | None = None) -> list[Path]:
    """Delete temporaries in `folder` (of the output `name`, or of any) whose writing process is gone."""
    removed = []
    prefix = f".{name}." if name else "."
    with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith(prefix) and _is_orphan(
                entry.name[len(prefix) :] if name else entry.name
            ):
                path = Path(entry.path)
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def _is_orphan(tail: str) -> bool:
    """`...PID.RANDOM.tmp|old`: true when PID names no running process."""
    parts = tail.rsplit(".", 3)
    if len(parts) < 3 or parts[-1] not in ("tmp", "old") or not parts[-3].isdigit():
        return False
    pid = int(parts[-3])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it into place only if the block succeeds."""
    target = Path(path)
    _prepare(target, "file")
    sweep_stale(target.parent, target.name)
    tmp_path = _temp_name(target, "tmp")
    tmp_path.touch(mode=0o600)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~umask())
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_parquet(table: pa.Table, path: str | os.PathLike) -> Path:
    """Write a table to Parquet atomically (temp file + rename)."""
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return Path(path)


def write_json(obj: object, path: str | os.PathLike) -> Path:
    """Write JSON atomically, pretty-printed so that run state stays readable and diffable.

    NaN and infinity are refused: they are not JSON, and no reader of these files accepts them.
    """
    text = json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_text(text: str, path: str | os.PathLike) -> Path:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder beside `path`; it replaces `path` only if the block succeeds.

    The output's lock is held throughout, so a second writer fails at once instead of racing, and the
    temporaries a killed writer left are deleted first. A previous output at `path` is moved aside and
    deleted only once the new folder is in place, so readers see either the old folder or the complete new
    one. Callers decide beforehand whether replacing is allowed.
    """
    target = Path(path)
    _prepare(target, "folder")
    with output_lock(target):
        sweep_stale(target.parent, target.name)
        tmp = _temp_name(target, "tmp")
        tmp.mkdir()
        try:
            yield tmp
            ordinary_modes(tmp)
            old = _temp_name(target, "old")
            if target.exists():
                os.replace(target, old)
            os.replace(tmp, target)
            if old.is_dir():
                shutil.rmtree(old)
            else:
                old.unlink(missing_ok=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
