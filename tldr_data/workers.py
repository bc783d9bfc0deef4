"""A process pool with a hard per-item deadline, enforced from outside the worker.

math-verify's own `signal.alarm` timeout does not stop every slow sympy call, and `concurrent.futures`
cannot cancel a running task: a killed worker breaks the whole executor. So each forked worker takes
batches of items over a pipe, answers a whole batch in one message (a message per item costs the parent,
which shares the cores with its workers, more than a cheap item), and publishes in shared memory which item
it is on and since when. An item past its deadline gets its worker killed and replaced, is reported as a
timeout, and the rest of that worker's queue goes back to the others (answers it had not sent yet are
redone). Items are meant to be small (row numbers): forking after the caller loaded its data gives every
worker that data, warm imports included, without pickling it. Workers die with the parent, even on kill -9
(PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any

OK, TIMEOUT, ERROR = "ok", "timeout", "error"
BATCH = 64  # items per message each way
_PR_SET_PDEATHSIG = 1
_INDEX, _STARTED = 0, 1  # a worker's progress: the item it is on, and since when (0: between items)


def _die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this worker when its parent dies; leave at once if the parent is already gone."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the parent's exit handlers still stop the workers
        pass
    if os.getppid() != parent:
        os._exit(1)


def _serve(fn: Callable[[Any], Any], conn: Connection, parent: int, progress: Any) -> None:
    """Worker loop: answer each batch in one message until the parent closes the pipe."""
    _die_with_parent(parent)
    while True:
        try:
            batch = conn.recv()
        except EOFError:
            return
        if batch is None:
            return
        answers = []
        for index, item in batch:
            progress[_STARTED] = time.monotonic()
            progress[_INDEX] = index
            try:
                answers.append((index, OK, fn(item)))
            except Exception as err:  # noqa: BLE001 - any failure of one item is that item's verdict
                answers.append((index, ERROR, f"{type(err).__name__}: {err}"[:500]))
        progress[_STARTED] = 0.0
        conn.send(answers)


class _Worker:
    def __init__(self, fn: Callable[[Any], Any]) -> None:
        ctx = multiprocessing.get_context("fork")
        self.conn, child = ctx.Pipe()
        self.progress = ctx.RawArray("d", 2)
        self.process = ctx.Process(target=_serve, args=(fn, child, os.getpid(), self.progress), daemon=True)
        # The worker's garbage collector skips what it inherits (Python's advice for fork): its first full
        # collection would otherwise write into every object of the parent's heap, copying every page. On
        # real eval logs (bench/verify.py rows): a third fewer page faults, ~7% less worker CPU.
        gc.freeze()
        try:
            self.process.start()
        finally:
            gc.unfreeze()
        child.close()
        self.outstanding: dict[int, Any] = {}  # sent and not answered, in the order sent

    def submit(self, batch: list[tuple[int, Any]]) -> None:
        self.conn.send(batch)
        self.outstanding.update(batch)

    def answered(self, answers: list[tuple[int, str, Any]]) -> list[tuple[int, str, Any]]:
        for index, _, _ in answers:
            del self.outstanding[index]
        return answers

    def deadline(self, timeout: float) -> float:
        """When the item it is on runs out of time; `timeout` from now while it is between items."""
        started = self.progress[_STARTED]
        return (started or time.monotonic()) + timeout

    def current(self, timeout: float) -> int | None:
        """The outstanding item it has been on for at least `timeout` seconds, if any (read once it is
        dead, so that item and start time agree)."""
        started, index = self.progress[_STARTED], int(self.progress[_INDEX])
        if started and time.monotonic() - started >= timeout and index in self.outstanding:
            return index
        return None

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

    def drain(self) -> list[tuple[int, str, Any]]:
        """The answers a stopped worker sent before it died."""
        answers = []
        while True:
            try:
                if not self.conn.poll():
                    break
                answers += self.answered(self.conn.recv())
            except (EOFError, OSError):
                break
        self.conn.close()
        return answers


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
            worker.conn.close()
        self.workers = []

    def imap_unordered(
        self, items: Sequence[Any], key: Callable[[Any], Any] | None = None
    ) -> Iterator[tuple[int, str, Any]]:
        """Yield `(index, status, value)` per item as its batch comes back; status is ok, timeout or error.

        Each worker holds up to two batches, so that it starts the next item at once instead of waiting for
        the parent to be scheduled (on busy cores that wait costs more than the items). A batch ends where
        `key` of consecutive items changes, when it can: items of one key then reach one worker, whose
        caches serve them all."""
        self.key = key
        self.fresh = deque(enumerate(items))
        self.retry: deque[tuple[int, Any]] = deque()  # the unanswered queue of a worker that was killed
        while True:
            self._feed()
            busy = {worker.conn: worker for worker in self.workers if worker.outstanding}
            if not busy:
                if self.retry or self.fresh:  # a dead idle worker was just replaced: feed the new one
                    continue
                return
            wait_for = max(0.0, min(w.deadline(self.timeout) for w in busy.values()) - time.monotonic())
            for conn in wait(list(busy), timeout=wait_for):
                worker = busy[conn]
                try:
                    yield from worker.answered(conn.recv())
                except (EOFError, OSError):  # it died
                    yield from self._replace(worker, ERROR)
            for worker in busy.values():
                if worker in self.workers and worker.deadline(self.timeout) <= time.monotonic():
                    yield from self._replace(worker, TIMEOUT)

    def _feed(self) -> None:
        """Top up every worker to two batches, retried items first."""
        for worker in self.workers:
            while len(worker.outstanding) < self.batch and (self.retry or self.fresh):
                queue = self.retry or self.fresh
                # Small batches near the end, so that the last items spread over every worker.
                size = max(1, min(self.batch, len(queue) // (2 * len(self.workers))))
                batch = self._cut([queue.popleft() for _ in range(min(size, len(queue)))], queue)
                try:
                    worker.submit(batch)
                except OSError:  # it died: items it held are reported when its pipe ends
                    self.retry.extendleft(reversed(batch))
                    if not worker.outstanding:  # it held none: no pipe end will tell, so replace it now
                        self._restart(worker)
                    break

    def _cut(self, batch: list[tuple[int, Any]], queue: deque[tuple[int, Any]]) -> list[tuple[int, Any]]:
        """`batch` ending where the key changes: cut back to its last change of key (the rest goes back to
        the head of `queue`) or, when all of it shares one key, grown by the queue's items of that key, up
        to the batch size."""
        if self.key is None or not queue or self.key(queue[0][1]) != self.key(batch[-1][1]):
            return batch
        keys = [self.key(item) for _, item in batch]
        end = len(batch) - 1
        while end > 0 and keys[end - 1] == keys[-1]:
            end -= 1
        if end:
            queue.extendleft(reversed(batch[end:]))
            return batch[:end]
        while queue and len(batch) < self.batch and self.key(queue[0][1]) == keys[-1]:
            batch.append(queue.popleft())
        return batch

    def _replace(self, worker: _Worker, status: str) -> Iterator[tuple[int, str, Any]]:
        """Kill a worker that died or ran past the deadline and start another; its answers sent before the
        end are kept, the item it was on gets `status`, the rest of its queue goes back."""
        worker.stop(kill=True)
        yield from worker.drain()
        culprit = worker.current(self.timeout if status == TIMEOUT else 0.0)
        if culprit is None and status == ERROR and worker.outstanding:
            culprit = next(iter(worker.outstanding))  # died between items: blame its next one, so we move on
        if culprit is not None:
            worker.outstanding.pop(culprit)
            value = (
                None if status == TIMEOUT else f"worker process died (exit code {worker.process.exitcode})"
            )
            yield culprit, status, value
        self.retry.extendleft(reversed(list(worker.outstanding.items())))
        self._restart(worker)

    def _restart(self, worker: _Worker) -> None:
        """A fresh worker in the place of a stopped one."""
        self.workers[self.workers.index(worker)] = _Worker(self.fn)
