"""The worker's handle on one child process (see :mod:`tasktrack.worker.child`)."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Protocol

from tasktrack.worker.child import child_main

log = logging.getLogger("tasktrack.worker")

# Spawned, not forked: the worker has threads (SQLite writer, asyncio) that fork would copy
# in an arbitrary state.
_MP = multiprocessing.get_context("spawn")
START_TIMEOUT = 60.0

ProgressCallback = Callable[[int, int], None]
#: Gets a batch of the handler's log lines (LogEntry tuples) and how many were dropped before.
LogsCallback = Callable[[list[tuple[float, str, str]], int], None]


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an attempt ended, as seen by the worker.

    kind: ``done``, ``error``, ``cancelled``, ``killed`` (we stopped it) or ``lost``
    (the child died on its own).
    """

    kind: str
    message: str = ""
    #: The handler's return value as compact JSON text (``done`` only; None: it returned None).
    result_json: str | None = None


@dataclass(frozen=True, slots=True)
class Job:
    """One attempt, as a slot needs it: which task, its type, the attempt number, the
    progress it starts from, and its data."""

    task_id: str
    name: str
    attempt: int
    current: int
    total: int
    data: dict[str, Any]


class Slot(Protocol):
    """Where a run's handler runs: a :class:`ChildProcess`, or (opt-in) the worker's own
    event loop (:class:`~tasktrack.worker.inline.InlineSlot`)."""

    #: Whether the run echoes the handler's log lines to the worker's log itself.
    echo_logs: bool

    @property
    def busy(self) -> bool: ...

    @property
    def alive(self) -> bool: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def begin(
        self, job: Job, on_progress: ProgressCallback, on_logs: LogsCallback | None = None
    ) -> asyncio.Future[Outcome]: ...

    def cancel(self, task_id: str) -> None: ...

    def kill(self) -> None: ...


class ChildProcess:
    """One child that runs one task at a time."""

    #: The child's lines arrive over the pipe, captured there: the run echoes them.
    echo_logs = True

    def __init__(
        self, app_modules: tuple[str, ...], demo: bool, log_level: str, log_format: str = "text"
    ) -> None:
        self._args = (app_modules, demo, log_level, log_format)
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._ready: asyncio.Future[None] | None = None
        self._result: asyncio.Future[Outcome] | None = None
        self._progress: ProgressCallback | None = None
        self._logs: LogsCallback | None = None
        self._task_id: str | None = None
        self._killed = False

    @property
    def busy(self) -> bool:
        return self._task_id is not None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        parent, child = _MP.Pipe(duplex=True)
        self._process = _MP.Process(
            target=child_main, args=(child, *self._args), daemon=True, name="tasktrack-child"
        )
        self._process.start()
        child.close()
        self._conn = parent
        self._killed = False
        self._ready = loop.create_future()
        loop.add_reader(parent.fileno(), self._on_readable)
        # Some loops (uvloop) make a watched fd non-blocking when it is added; a message
        # larger than the pipe's buffer (a batch of log lines) must still be read whole.
        os.set_blocking(parent.fileno(), True)
        try:
            async with asyncio.timeout(START_TIMEOUT):  # not wait_for: see storage/events.py
                await asyncio.shield(self._ready)
        except BaseException:
            self.kill()
            raise

    def begin(
        self, job: Job, on_progress: ProgressCallback, on_logs: LogsCallback | None = None
    ) -> asyncio.Future[Outcome]:
        """Start one task in the child; the future gets its outcome when it ends (or the
        child is killed). Cancelling the future leaves the child idle again."""
        if self._conn is None or self.busy:
            raise RuntimeError("child process is not idle")
        result: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._task_id = job.task_id
        self._progress = on_progress
        self._logs = on_logs
        self._result = result
        result.add_done_callback(self._idle_again)
        try:
            j = job
            self._conn.send(("run", j.task_id, j.name, j.attempt, j.current, j.total, j.data))
        except BaseException:
            result.cancel()
            raise
        return result

    def _idle_again(self, result: asyncio.Future[Outcome]) -> None:
        if self._result is result:
            self._task_id = None
            self._progress = None
            self._logs = None
            self._result = None

    def cancel(self, task_id: str) -> None:
        """Ask the handler of ``task_id`` to stop (it sees ``ctx.cancelled``)."""
        if self._conn is not None and self._task_id == task_id:
            try:
                self._conn.send(("cancel", task_id))
            except OSError:
                pass

    def kill(self) -> None:
        """Stop the child at once (SIGKILL); a running task ends as ``killed``."""
        self._killed = True
        if self._process is not None and self._process.is_alive():
            self._process.kill()
        self._detach(Outcome("killed", "stopped by the worker"))

    async def stop(self) -> None:
        """Ask an idle child to exit; kill it if it does not."""
        if self._conn is not None and self._process is not None:
            self._killed = True  # an exit we asked for is not a crash
            try:
                self._conn.send(("exit",))
            except OSError:
                pass
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, self._process.join, 5.0)
        self.kill()
        if self._process is not None:
            self._process.join(1.0)
            self._process.close()
            self._process = None

    def _on_readable(self) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            # One message per call: the loop calls again while more wait (level-triggered).
            # ``conn.poll()`` to drain them here built a selector per call (~50 µs a task).
            self._dispatch(conn.recv())
        except (EOFError, OSError):
            code = self._process.exitcode if self._process else None
            if not self._killed:
                log.warning("child process exited unexpectedly (exit code %s)", code)
            self._detach(Outcome("lost", f"worker process died (exit code {code})"))

    def _dispatch(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "ready" and self._ready is not None and not self._ready.done():
            self._ready.set_result(None)
        elif kind == "progress" and message[1] == self._task_id and self._progress:
            self._progress(message[2], message[3])
        elif kind == "logs" and message[1] == self._task_id and self._logs:
            self._logs(message[2], message[3])
        elif kind == "result" and message[1] == self._task_id:
            if self._result is not None and not self._result.done():
                self._result.set_result(Outcome(*message[2:5]))

    def _detach(self, outcome: Outcome) -> None:
        if self._conn is not None:
            try:
                asyncio.get_running_loop().remove_reader(self._conn.fileno())
            except (RuntimeError, ValueError, OSError):
                pass
            self._conn.close()
            self._conn = None
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(RuntimeError(outcome.message))
        if self._result is not None and not self._result.done():
            self._result.set_result(outcome)

    @property
    def alive(self) -> bool:
        return self._conn is not None and self._process is not None and self._process.is_alive()
