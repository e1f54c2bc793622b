"""The SQLite writer thread's jobs: how a write in a group runs, and how its caller hears.

A job is a write (a function of the writer's connection), where its outcome goes (an event
loop's future, or a thread's for ``write_sync``), whether it is urgent, and how it may merge
with the others of its kind. In a group of several, each runs in its own SAVEPOINT (a failing
write rolls back alone) or, merged, as one statement with its kind; the writer then answers
every caller of one event loop with a single wake-up (:func:`answer`).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from tasktrack.errors import StorageError

log = logging.getLogger("tasktrack.storage")


@dataclass(frozen=True, slots=True)
class Mergeable:
    """How a write may run as one statement with the others of its kind in a group: ``run``
    takes their ``values`` and returns each one's result by its key, the first of its values
    (a key missing: the write's own function would have returned ``[]``), as PostgreSQL's
    group commit does. See :mod:`tasktrack.storage.merging`."""

    run: Callable[[sqlite3.Connection, list[Any]], dict[Hashable, Any]]
    values: Sequence[Any]


#: Where a write's outcome goes: an event loop's future (``write``) or a thread's
#: (``write_sync``).
Reply = asyncio.Future[Any] | Future[Any]
#: A write, its reply, whether it is urgent, and how it may merge with others.
Job = tuple[Callable[[sqlite3.Connection], Any], Reply, bool, Mergeable | None]
Outcome = tuple[bool, Any]


def kind(job: Job) -> Hashable | None:
    return job[3].run if job[3] is not None else None


def key(job: Job) -> Hashable:
    return job[3].values[0] if job[3] is not None else id(job)


def wanted(reply: Reply) -> bool:
    """Whether a write's caller still waits for it (a ``write_sync`` caller always does)."""
    if isinstance(reply, Future):
        return reply.set_running_or_notify_cancel()
    return not reply.cancelled()


def answer(group: list[Job], outcomes: list[Outcome]) -> None:
    """Hand each caller its outcome: one wake-up per event loop for the whole group."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Outcome]]] = {}
    for job, outcome in zip(group, outcomes, strict=True):
        reply = job[1]
        if isinstance(reply, Future):
            if outcome[0]:
                reply.set_result(outcome[1])
            else:
                reply.set_exception(outcome[1])
        else:
            by_loop.setdefault(reply.get_loop(), []).append((reply, outcome))
    for loop, answers in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, answers)
        except RuntimeError:  # the loop is closed: nobody is left to hear
            pass


def _settle(answers: list[tuple[asyncio.Future[Any], Outcome]]) -> None:
    for future, (ok, value) in answers:
        if future.done():  # cancelled after the writer took it
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


def run_bare(con: sqlite3.Connection, job: Job) -> Outcome:
    """Run one write; its error, as callers see it, instead of raising."""
    try:
        return True, job[0](con)
    except Exception as exc:
        if isinstance(exc, sqlite3.Error):
            wrapped = StorageError(f"SQLite write failed: {exc}")
            wrapped.__cause__ = exc
            return False, wrapped
        return False, exc


def run_alone(con: sqlite3.Connection, job: Job) -> Outcome:
    """One write in its own savepoint, so that its failure undoes only itself."""
    con.execute("SAVEPOINT job")
    outcome = run_bare(con, job)
    if not outcome[0]:
        con.execute("ROLLBACK TO job")
    con.execute("RELEASE job")
    return outcome


def run_merged(con: sqlite3.Connection, jobs: list[Job]) -> dict[int, Outcome]:
    """Writes of one kind as one statement; should it fail, each runs alone (and fails alone)."""
    merge = jobs[0][3]
    assert merge is not None
    con.execute("SAVEPOINT merged")
    try:
        results = merge.run(con, [job[3].values for job in jobs if job[3] is not None])
    except Exception:
        con.execute("ROLLBACK TO merged")
        con.execute("RELEASE merged")
        log.debug("a merged write of %d failed; running each alone", len(jobs))
        return {id(job): run_alone(con, job) for job in jobs}
    con.execute("RELEASE merged")
    return {id(job): (True, results.get(key(job), [])) for job in jobs}
