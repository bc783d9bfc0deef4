"""One writer per output: an advisory lock beside each output, so a second process cannot duplicate work.

The lock is `fcntl.flock` on a hidden file beside the output (`.NAME.lock`). The kernel releases it when the
holding process exits, however it dies (kill -9 included), so a lock never outlives its writer and a stale
lock file is simply reused. A second process that finds the output locked fails at once with one line
naming the output and the holder's pid; nothing it would write collides with the first one's work.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from tldr_data.errors import TldrError


class BusyError(TldrError):
    """Another process is writing the same output (exit 1: the input is fine, try again later)."""


def lock_path(target: str | os.PathLike, name: str | None = None) -> Path:
    """The lock file of `target`: `.NAME.lock` beside it (NAME defaults to the target's name)."""
    path = Path(target)
    return path.parent / f".{name or path.name}.lock"


@contextlib.contextmanager
def output_lock(
    target: str | os.PathLike, *, shared: bool = False, name: str | None = None, wait: bool = False
) -> Iterator[Path]:
    """Hold the lock of `target` for the block: exclusive, or shared with other shared holders.

    Without `wait`, a lock held by another process raises BusyError at once. The last holder deletes the
    lock file, so a finished output leaves none behind (a killed one leaves it, and the next run reuses it).
    """
    path = lock_path(target, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _acquire(path, fcntl.LOCK_SH if shared else fcntl.LOCK_EX, wait, target)
    try:
        if not shared:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield path
    finally:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            path.unlink(missing_ok=True)
        except BlockingIOError:
            pass
        os.close(fd)


def _acquire(path: Path, mode: int, wait: bool, target: str | os.PathLike) -> int:
    """Lock the file at `path`, retrying when its holder deleted it meanwhile (then the lock is stale)."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, mode if wait else mode | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise BusyError(
                f"{target}: another process (pid {holder}) is writing it; "
                "wait for it to finish or choose another output"
            ) from None
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)
