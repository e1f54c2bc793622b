"""Supervised loops: errors are logged and retried with a bounded, resetting back-off."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tasktrack.errors import DatabaseBusy, LeaseLost, StorageError
from tasktrack.worker.supervise import Backoff, forever, persist


def test_backoff_doubles_up_to_its_cap_and_resets() -> None:
    backoff = Backoff(first=0.1, cap=0.5)
    assert [backoff.next() for _ in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    backoff.reset()
    assert backoff.next() == 0.1


async def test_a_failing_step_is_logged_and_run_again(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []
    failures = [ValueError("bad row"), StorageError("db down")]

    async def step() -> None:
        calls.append(1)
        if failures:
            raise failures.pop(0)

    loop = asyncio.create_task(forever("probe", step, Backoff(first=0.001, cap=0.002)))
    while len(calls) < 5:
        await asyncio.sleep(0.001)
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop
    records = [r for r in caplog.records if r.name == "tasktrack.worker"]
    assert [r.levelno for r in records] == [logging.ERROR, logging.ERROR]
    unexpected, ours = records
    assert unexpected.exc_info is not None and isinstance(unexpected.exc_info[1], ValueError)
    assert ours.exc_info is None and "db down" in ours.getMessage()  # ours: one line


async def test_persist_retries_storage_errors_until_the_write_lands() -> None:
    failures: list[Exception] = [DatabaseBusy("locked"), StorageError("connection reset")]

    async def write() -> str:
        if failures:
            raise failures.pop(0)
        return "written"

    assert await persist(write, "write", within=5.0, backoff=Backoff(0.001, 0.002)) == "written"
    assert failures == []


async def test_persist_gives_up_after_its_window_and_never_retries_a_refusal() -> None:
    calls: list[int] = []

    async def busy() -> None:
        calls.append(1)
        raise DatabaseBusy("locked")

    with pytest.raises(DatabaseBusy):
        await persist(busy, "write", within=0.5, backoff=Backoff(0.1, 0.1))
    assert 2 <= len(calls) <= 6  # retried within the window, then raised

    async def fenced() -> None:
        calls.append(1)
        raise LeaseLost("attempt 1 is no longer current")

    calls.clear()
    with pytest.raises(LeaseLost):
        await persist(fenced, "write", within=5.0)
    assert calls == [1]
