"""Readiness: can this process do its work right now?

Liveness is only "the process answers"; readiness is a list of checks, each of which must
pass: the database answers a real read within a deadline and holds the schema this code
expects, and, in a worker, the claim loop has completed a claim recently. A load balancer or
orchestrator sends traffic (or keeps a worker) only while every check passes.

The reasons a check fails are logged, not returned: the health routes are unauthenticated,
and a driver's message names hosts and databases.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from tasktrack.errors import TaskTrackError
from tasktrack.storage.base import SchemaState

log = logging.getLogger("tasktrack.health")

#: Longest a database check may take before it counts as failed (a hung connection, a
#: database waiting on a lock) — well inside the usual 5 s probe timeout of an orchestrator.
DATABASE_DEADLINE = 2.0


@dataclass(frozen=True, slots=True)
class Check:
    """One readiness check's outcome; ``detail`` is safe to show anyone."""

    name: str
    ok: bool
    detail: str


Probe = Callable[[], Awaitable[Check]]


@dataclass(frozen=True, slots=True)
class Readiness:
    checks: tuple[Check, ...]

    @property
    def ready(self) -> bool:
        return all(check.ok for check in self.checks)

    def failed(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]


async def readiness(probes: Sequence[Probe]) -> Readiness:
    """Run every probe (concurrently) and gather their checks."""
    return Readiness(tuple(await asyncio.gather(*(probe() for probe in probes))))


def database_probe(
    probe: Callable[[], Awaitable[SchemaState]], deadline: float = DATABASE_DEADLINE
) -> Probe:
    """A check that the database answers within ``deadline`` with the expected schema."""

    async def check() -> Check:
        try:
            async with asyncio.timeout(deadline):  # not wait_for: see storage/events.py
                state = await probe()
        except TimeoutError:
            log.warning("readiness: the database did not answer within %.1fs", deadline)
            return Check("database", False, f"no answer within {deadline:g}s")
        except TaskTrackError as exc:
            log.warning("readiness: the database cannot be read: %s", exc.message)
            return Check("database", False, "unreachable")
        except Exception:  # a driver error we do not translate: still "not ready", not a 500
            log.warning("readiness: the database cannot be read", exc_info=True)
            return Check("database", False, "unreachable")
        return _schema_check(state)

    return check


def _schema_check(state: SchemaState) -> Check:
    if state.current:
        return Check("database", True, f"schema version {state.found}")
    log.warning("readiness: schema version %d, expected %d", state.found, state.expected)
    return Check("database", False, f"schema version {state.found}, expected {state.expected}")


def heartbeat_probe(name: str, age: Callable[[], float | None], limit: float) -> Probe:
    """A check that a loop beat within ``limit`` seconds (``age()`` None: it never has)."""

    async def check() -> Check:
        seconds = age()
        if seconds is None:
            return Check(name, False, "not started")
        if seconds > limit:
            log.warning("readiness: %s last beat %.1fs ago (limit %.0fs)", name, seconds, limit)
            return Check(name, False, f"last beat {seconds:.1f}s ago")
        return Check(name, True, f"last beat {seconds:.1f}s ago")

    return check
