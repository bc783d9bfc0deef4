"""A process pool with a hard per-item deadline, enforced from outside the worker.

math-verify's own `signal.alarm` timeout does not stop every slow sympy call, and `concurrent.futures`
cannot cancel a running task: a killed worker breaks the whole executor. So each forked worker takes a
small batch of items over a pipe and answers them one by one; an item past its deadline gets its worker
killed and replaced, is reported as a timeout, and the rest of its queue goes back to the others. Items are
meant to be small (row numbers): forking after the caller loaded its data gives every worker that data, warm
imports included, without pickling it. Workers die with the parent, even on kill -9 (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any

OK, TIMEOUT, ERROR = "ok", "timeout", "error"
BATCH = 8  # items per message: fewer wake-ups of the parent, which shares the cores with its workers
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this worker when its parent dies; leave at once if the parent is already gone."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the parent's exit handlers still stop the workers
        pass
    if os.getppid() != parent:
        os._exit(1)


def _serve(fn: Callable[[Any], Any], conn: Connection, parent: int) -> None:
    """Worker loop: answer each item of each batch until the parent closes the pipe."""
    _die_with_parent(parent)
    while True:
        try:
            batch = conn.recv()
        except EOFError:
            return
        if batch is None:
            return
        for index, item in batch:
            try:
                conn.send((index, OK, fn(item)))
            except Exception as err:  # noqa: BLE001 - any failure of one item is that item's verdict
                conn.send((index, ERROR, f"{type(err).__name__}: {err}"[:500]))


class _Worker:
    def __init__(self, fn: Callable[[Any], Any]) -> None:
        ctx = multiprocessing.get_context("fork")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(fn, child, os.getpid()), daemon=True)
        self.process.start()
        child.close()
        self.outstanding: deque[tuple[int, Any]] = deque()
        self.deadline = 0.0

    def submit(self, batch: list[tuple[int, Any]], timeout: float) -> None:
        """Queue a batch; the deadline runs from now only if the worker had nothing to do."""
        if not self.outstanding:
            self.deadline = time.monotonic() + timeout
        self.conn.send(batch)
        self.outstanding.extend(batch)

    def stop(self, kill: bool = False) -> None:
        """Ask the worker to leave (a pipe's EOF is not enough: later forks hold copies of its end)."""
        if not kill:
            try:
                self.conn.send(None)
            except OSError:
                kill = True
        self.process.join(timeout=0 if kill else 5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


class DeadlinePool:
    """Run `fn` over items in `workers` forked processes; no item may take longer than `timeout` seconds.

    Use as a context manager; every worker is gone when the block exits, even on an exception.
    """

    def __init__(self, fn: Callable[[Any], Any], workers: int, timeout: float, batch: int = BATCH) -> None:
        self.fn = fn
        self.timeout = timeout
        self.batch = max(1, batch)
        self.workers = [_Worker(fn) for _ in range(max(1, workers))]

    def __enter__(self) -> DeadlinePool:
        return self

    def __exit__(self, *exc: object) -> None:
        for worker in self.workers:
            worker.stop(kill=any(exc))
        self.workers = []

    def imap_unordered(self, items: Sequence[Any]) -> Iterator[tuple[int, str, Any]]:
        """Yield `(index, status, value)` per item as it finishes; status is ok, timeout or error.

        Each worker holds up to two batches, so that it starts the next item at once instead of waiting for
        the parent to be scheduled (on busy cores that wait costs more than the items)."""
        fresh = deque(enumerate(items))
        retry: deque[tuple[int, Any]] = deque()  # the rest of the queue of a worker that was killed
        while True:
            for worker in self.workers:
                while len(worker.outstanding) < self.batch and (retry or fresh):
                    queue = retry or fresh
                    # Small batches near the end, so that the last items spread over every worker.
                    size = max(1, min(self.batch, len(queue) // (2 * len(self.workers))))
                    batch = [queue.popleft() for _ in range(min(size, len(queue)))]
                    try:
                        worker.submit(batch, self.timeout)
                    except OSError:  # it died: its own items are reported below, when its pipe ends
                        retry.extendleft(reversed(batch))
                        if not worker.outstanding:
                            self._replace(worker)
                        break
            busy = {worker.conn: worker for worker in self.workers if worker.outstanding}
            if not busy:
                return
            wait_for = max(0.0, min(w.deadline for w in busy.values()) - time.monotonic())
            for conn in wait(list(busy), timeout=wait_for):
                worker = busy[conn]
                try:
                    index, status, value = conn.recv()
                except (EOFError, OSError):  # OSError: it died with items we sent still unread
                    index, _ = worker.outstanding.popleft()
                    yield index, ERROR, f"worker process died (exit code {worker.process.exitcode})"
                    retry.extendleft(reversed(worker.outstanding))
                    self._replace(worker)
                    continue
                worker.outstanding.popleft()
                worker.deadline = time.monotonic() + self.timeout
                yield index, status, value
            now = time.monotonic()
            for worker in list(busy.values()):
                if worker.outstanding and worker.deadline <= now and worker in self.workers:
                    index, _ = worker.outstanding.popleft()
                    yield index, TIMEOUT, None
                    retry.extendleft(reversed(worker.outstanding))
                    self._replace(worker)

    def _replace(self, worker: _Worker) -> _Worker:
        worker.stop(kill=True)
        fresh = _Worker(self.fn)
        self.workers[self.workers.index(worker)] = fresh
        return fresh
