"""A process pool with a hard per-item deadline, enforced from outside the worker.

math-verify's own `signal.alarm` timeout does not stop every slow sympy call, and `concurrent.futures`
cannot cancel a running task: a killed worker breaks the whole executor. So each forked worker takes one
item at a time over a pipe; an item past its deadline gets its worker killed and replaced, and the item
is reported as a timeout. Forking keeps the parent's imports (math-verify, sympy) warm in every worker.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection, wait
from typing import Any

OK, TIMEOUT, ERROR = "ok", "timeout", "error"


def _serve(fn: Callable[[Any], Any], conn: Connection) -> None:
    """Worker loop: answer each item until the parent closes the pipe."""
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        index, item = task
        try:
            conn.send((index, OK, fn(item)))
        except Exception as err:  # noqa: BLE001 - any failure of one item is that item's verdict
            conn.send((index, ERROR, f"{type(err).__name__}: {err}"[:500]))


class _Worker:
    def __init__(self, fn: Callable[[Any], Any]) -> None:
        ctx = multiprocessing.get_context("fork")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(fn, child), daemon=True)
        self.process.start()
        child.close()
        self.index: int | None = None
        self.deadline = 0.0

    def submit(self, index: int, item: Any, timeout: float) -> None:
        self.conn.send((index, item))
        self.index = index
        self.deadline = time.monotonic() + timeout

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

    def __init__(self, fn: Callable[[Any], Any], workers: int, timeout: float) -> None:
        self.fn = fn
        self.timeout = timeout
        self.workers = [_Worker(fn) for _ in range(max(1, workers))]

    def __enter__(self) -> DeadlinePool:
        return self

    def __exit__(self, *exc: object) -> None:
        for worker in self.workers:
            worker.stop(kill=any(exc))
        self.workers = []

    def imap_unordered(self, items: Iterable[Any]) -> Iterator[tuple[int, str, Any]]:
        """Yield `(index, status, value)` per item as it finishes; status is ok, timeout or error."""
        pending = enumerate(items)
        busy: dict[Connection, _Worker] = {}
        idle = list(self.workers)
        while True:
            while idle and (task := next(pending, None)) is not None:
                worker = idle.pop()
                worker.submit(*task, self.timeout)
                busy[worker.conn] = worker
            if not busy:
                return
            wait_for = max(0.0, min(w.deadline for w in busy.values()) - time.monotonic())
            for conn in wait(list(busy), timeout=wait_for):
                worker = busy.pop(conn)
                try:
                    yield conn.recv()
                    idle.append(worker)
                except EOFError:
                    yield worker.index, ERROR, f"worker process died (exit code {worker.process.exitcode})"
                    idle.append(self._replace(worker))
            now = time.monotonic()
            for conn, worker in list(busy.items()):
                if worker.deadline <= now:
                    del busy[conn]
                    yield worker.index, TIMEOUT, None
                    idle.append(self._replace(worker))

    def _replace(self, worker: _Worker) -> _Worker:
        worker.stop(kill=True)
        fresh = _Worker(self.fn)
        self.workers[self.workers.index(worker)] = fresh
        return fresh
