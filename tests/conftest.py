"""Shared fixtures: stores for every backend, principals, a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tasktrack.domain.identity import Principal
from tasktrack.storage.base import Stores
from tasktrack.storage.factory import open_stores

BACKENDS = ["memory", "sqlite"]


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


async def open_backend(backend: str, tmp_path: Path) -> Stores:
    if backend == "memory":
        return await open_stores("memory://")
    if backend == "sqlite":
        return await open_stores(f"sqlite:///{tmp_path}/tasks.db")
    raise ValueError(backend)


@pytest.fixture(params=BACKENDS)
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    opened = await open_backend(request.param, tmp_path)
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
