"""Shared fixtures: stores for every backend, principals, a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tasktrack.domain.identity import Principal
from tasktrack.storage.base import Stores
from tasktrack.storage.factory import open_stores
from tests import pg

BACKENDS = ["memory", "sqlite", "postgres"]


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL template database for this test session."""
    name = pg.create_template()
    yield name
    pg.drop(name)


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one test."""
    yield from pg.database_from(pg_template)


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/tasks.db"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
async def stores(backend_url: str) -> AsyncIterator[Stores]:
    opened = await open_stores(backend_url)
    yield opened
    await opened.close()


ORG_A = "a" * 24
ORG_B = "b" * 24
USER_A = "1" * 24
USER_B = "2" * 24


@pytest.fixture
def alice() -> Principal:
    return Principal(USER_A, ORG_A)


@pytest.fixture
def bob() -> Principal:
    return Principal(USER_B, ORG_B)
