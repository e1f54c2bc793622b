"""Slow secret verifications run a bounded number at a time, with a bounded queue."""

from __future__ import annotations

import asyncio
import os
import sys
import threading

import pytest

from tasktrack.errors import Overloaded
from tasktrack.service import passwords


async def test_verifications_are_bounded_and_excess_is_refused_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(passwords, "VERIFY_SLOTS", 1)
    monkeypatch.setattr(passwords, "MAX_WAITING", 2)
    release = threading.Event()
    running = 0
    most = 0
    lock = threading.Lock()

    def slow_verify(stored: str | None, presented: str) -> bool:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        release.wait(10)
        with lock:
            running -= 1
        return False

    monkeypatch.setattr(passwords, "verify_secret_sync", slow_verify)
    admitted = [asyncio.create_task(passwords.verify_secret(None, "x")) for _ in range(3)]
    await asyncio.sleep(0)  # let them take the slot and queue
    with pytest.raises(Overloaded):  # a fourth would wait behind a full queue: refused now
        await passwords.verify_secret(None, "x")
    release.set()
    assert await asyncio.gather(*admitted) == [False] * 3
    assert most == 1


async def test_real_verification_still_answers() -> None:
    hashed = passwords.hash_secret("correct horse")
    assert await passwords.verify_secret(hashed, "correct horse")
    assert not await passwords.verify_secret(hashed, "wrong horse")
    assert not await passwords.verify_secret(None, "anything")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness is Linux's")
async def test_verifications_run_at_the_lowest_priority_and_leave_the_loop_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """argon2 starts threads of its own for its lanes; they inherit the verifying thread's
    niceness, so only CPU nobody else wants goes to a burst of sign-ins."""
    seen: list[tuple[int, int]] = []

    def record(stored: str | None, presented: str) -> bool:
        me = threading.get_native_id()
        seen.append((me, os.getpriority(os.PRIO_PROCESS, me)))
        return False

    monkeypatch.setattr(passwords, "verify_secret_sync", record)
    await passwords.verify_secret(None, "x")
    (thread, niceness), loop_thread = seen[0], threading.get_native_id()
    assert thread != loop_thread and niceness == passwords.VERIFY_NICENESS == 19
    assert os.getpriority(os.PRIO_PROCESS, loop_thread) < passwords.VERIFY_NICENESS
