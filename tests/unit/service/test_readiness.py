"""Readiness checks: a real answer within the deadline, the expected schema, a recent beat."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tasktrack.errors import StorageError
from tasktrack.service.health import (
    Check,
    database_probe,
    heartbeat_probe,
    readiness,
)
from tasktrack.storage.base import SchemaState


async def test_a_current_schema_is_ready() -> None:
    async def probe() -> SchemaState:
        return SchemaState(5, 5)

    state = await readiness([database_probe(probe)])
    assert state.ready and state.checks == (Check("database", True, "schema version 5"),)


async def test_an_old_or_new_schema_is_not_ready() -> None:
    async def probe() -> SchemaState:
        return SchemaState(4, 5)

    state = await readiness([database_probe(probe)])
    assert not state.ready
    assert state.failed() == [Check("database", False, "schema version 4, expected 5")]


async def test_a_failing_database_is_not_ready_and_its_reason_is_logged_not_shown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def probe() -> SchemaState:
        raise StorageError("cannot connect to PostgreSQL at db.internal:5432")

    with caplog.at_level(logging.WARNING, logger="tasktrack.health"):
        state = await readiness([database_probe(probe)])
    assert state.failed() == [Check("database", False, "unreachable")]
    assert "db.internal" in caplog.text


async def test_an_unexpected_driver_error_is_not_ready_rather_than_raised() -> None:
    async def probe() -> SchemaState:
        raise OSError("socket closed")

    assert (await readiness([database_probe(probe)])).failed()[0].detail == "unreachable"


async def test_a_database_that_hangs_is_not_ready_at_the_deadline() -> None:
    async def probe() -> SchemaState:
        await asyncio.Event().wait()  # never answers
        raise AssertionError

    state = await readiness([database_probe(probe, deadline=0.01)])
    assert state.failed() == [Check("database", False, "no answer within 0.01s")]


@pytest.mark.parametrize(("age", "ok"), [(None, False), (0.0, True), (9.9, True), (10.1, False)])
async def test_a_heartbeat_is_ready_only_while_recent(age: float | None, ok: bool) -> None:
    check = await heartbeat_probe("claim loop", lambda: age, 10.0)()
    assert (check.name, check.ok) == ("claim loop", ok)


async def test_every_check_must_pass() -> None:
    async def probe() -> SchemaState:
        return SchemaState(5, 5)

    state = await readiness([database_probe(probe), heartbeat_probe("loop", lambda: None, 1)])
    assert not state.ready and [c.name for c in state.failed()] == ["loop"]
