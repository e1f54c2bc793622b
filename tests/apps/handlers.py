"""Task handlers the runtime tests register (imported by worker child processes too).

Handlers that must be observed from the test write to files named in their ``data``:
a child process shares nothing else with the test.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from tasktrack import TaskContext, TaskRegistry

registry = TaskRegistry()


def _append(path: str | None, line: str) -> None:
    if path:
        # O_APPEND writes of a short line are atomic, so concurrent children never interleave.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)


@registry.task("test.noop")
def noop(data: dict[str, Any], ctx: TaskContext) -> None:
    """Do nothing; record the run if asked."""
    _append(data.get("log"), f"{ctx.task_id} {ctx.attempt}")


@registry.task("test.steps", total_steps=lambda d: int(d.get("steps", 3)))
async def steps(data: dict[str, Any], ctx: TaskContext) -> None:
    """Step ``steps`` times, ``pause`` seconds apart."""
    for _ in range(int(data.get("steps", 3))):
        await asyncio.sleep(float(data.get("pause", 0.0)))
        ctx.step()


@registry.task("test.tight_loop")
def tight_loop(data: dict[str, Any], ctx: TaskContext) -> None:
    """Report a million steps as fast as possible (coalescing keeps the store calm)."""
    ctx.set_total(int(data.get("steps", 1_000_000)))
    for _ in range(int(data.get("steps", 1_000_000))):
        ctx.step()


@registry.task("test.fail")
def fail(data: dict[str, Any], ctx: TaskContext) -> None:
    """Fail with ``message``."""
    raise ValueError(data.get("message", "it broke"))


@registry.task("test.flaky", max_attempts=3, retry_backoff=0.2)
def flaky(data: dict[str, Any], ctx: TaskContext) -> None:
    """Fail until attempt ``succeed_on``; record each attempt's start."""
    _append(data.get("log"), f"{ctx.attempt} {time.time()}")
    if ctx.attempt < int(data.get("succeed_on", 3)):
        raise RuntimeError(f"attempt {ctx.attempt} failed")


@registry.task("test.cooperative")
async def cooperative(data: dict[str, Any], ctx: TaskContext) -> None:
    """Run until cancelled, noting the moment it noticed."""
    _append(data.get("log"), f"started {time.time()}")
    try:
        while True:
            await asyncio.sleep(0.01)
    except asyncio.CancelledError:
        _append(data.get("log"), f"cancelled {time.time()}")
        raise


@registry.task("test.cooperative_sync")
def cooperative_sync(data: dict[str, Any], ctx: TaskContext) -> None:
    """A sync handler polling ``ctx.cancelled``."""
    _append(data.get("log"), f"started {time.time()}")
    while not ctx.wait_cancelled(0.01):
        pass
    _append(data.get("log"), f"cancelled {time.time()}")
    ctx.raise_if_cancelled()


@registry.task("test.stubborn")
def stubborn(data: dict[str, Any], ctx: TaskContext) -> None:
    """Burn CPU and never look at cancellation."""
    _append(data.get("log"), f"started {time.time()}")
    while True:
        pass


@registry.task("test.spin", timeout=0.5)
def spin(data: dict[str, Any], ctx: TaskContext) -> None:
    """CPU-bound past its 0.5 s timeout."""
    while True:
        pass


@registry.task("test.sleep")
def sleep(data: dict[str, Any], ctx: TaskContext) -> None:
    """Sleep ``seconds`` (ignoring cancellation); record start and finish."""
    _append(data.get("log"), f"start {ctx.task_id} {ctx.attempt}")
    time.sleep(float(data.get("seconds", 1.0)))
    _append(data.get("log"), f"finish {ctx.task_id} {ctx.attempt}")


@registry.task("test.signal_file")
def signal_file(data: dict[str, Any], ctx: TaskContext) -> None:
    """Wait until ``release`` exists; ``started`` marks that it began."""
    Path(data["started"]).touch()
    while not Path(data["release"]).exists():
        time.sleep(0.01)
    _append(data.get("log"), f"finish {ctx.task_id} {ctx.attempt}")


@registry.task("test.hold_first", max_attempts=2, retry_backoff=0.1)
def hold_first(data: dict[str, Any], ctx: TaskContext) -> None:
    """Attempt 1 marks ``started`` and blocks forever; later attempts finish at once."""
    _append(data.get("log"), f"start {ctx.task_id} {ctx.attempt}")
    if ctx.attempt == 1:
        Path(data["started"]).touch()
        while True:
            time.sleep(0.05)


@registry.task("test.fail_nul")
def fail_nul(data: dict[str, Any], ctx: TaskContext) -> None:
    """Fail with a message holding NUL, which PostgreSQL text cannot store."""
    raise ValueError("before\x00after")


# -- results (issue 13) ---------------------------------------------------------------------


@registry.task("test.answer")
def answer(data: dict[str, Any], ctx: TaskContext) -> Any:
    """Return ``value`` (default ``{"answer": 42}``)."""
    return data.get("value", {"answer": 42})


@registry.task("test.answer_async")
async def answer_async(data: dict[str, Any], ctx: TaskContext) -> Any:
    """Return ``value`` (default ``{"answer": 42}``), from a coroutine."""
    await asyncio.sleep(0)
    return data.get("value", {"answer": 42})


@registry.task("test.unserialisable", max_attempts=2, retry_backoff=0.05)
def unserialisable(data: dict[str, Any], ctx: TaskContext) -> Any:
    """Return a value JSON cannot hold (a set)."""
    return {"ids": {1, 2}}


@registry.task("test.oversized")
def oversized(data: dict[str, Any], ctx: TaskContext) -> Any:
    """Return a string whose JSON is one byte over the 1 MiB result cap."""
    return "x" * (1024 * 1024 - 1)


@registry.task("test.steps_flaky", total_steps=3, max_attempts=2, retry_backoff=1.0)
def steps_flaky(data: dict[str, Any], ctx: TaskContext) -> None:
    """Issue 13's ``done 4/4``: attempt 1 makes two of its three steps (stored) and fails;
    attempt 2 makes all three and returns."""
    for _ in range(2 if ctx.attempt == 1 else 3):
        ctx.step()
    ctx.flush()
    if ctx.attempt == 1:
        raise RuntimeError("failed after 2 of 3 steps")


@registry.task("test.fast", queue="fast", priority=5)
def fast(data: dict[str, Any], ctx: TaskContext) -> None:
    """A task type of its own queue ("fast"): workers may serve it alone (issue 14)."""
    _append(data.get("log"), f"{ctx.task_id} {ctx.attempt}")


@registry.task("test.async_chatty", max_attempts=2, retry_backoff=0.1, timeout=1.0)
async def async_chatty(data: dict[str, Any], ctx: TaskContext) -> Any:
    """Async: log a line per attempt and step once; fail on attempts before ``succeed_on``;
    sleep ``sleep`` seconds (past the 1 s timeout to time out); block the event loop for
    ``block`` seconds (as a careless handler would); return the attempt."""
    ctx.logger.info("attempt %d says hello", ctx.attempt)
    ctx.step()
    time.sleep(float(data.get("block", 0)))
    await asyncio.sleep(float(data.get("sleep", 0)))
    if ctx.attempt < int(data.get("succeed_on", 1)):
        raise RuntimeError(f"attempt {ctx.attempt} failed")
    return {"attempt": ctx.attempt}
