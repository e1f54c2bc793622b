"""``tasktrack tasks prune``: a server-side command on the database itself, per status, with
the retention settings or ``--older-than``, and a ``--dry-run`` that deletes nothing."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tasktrack.cli.main import cli
from tasktrack.domain.lifecycle import Status
from tasktrack.storage.factory import open_stores
from tests.integration.test_store_retention import finished

DAY = 86400.0


async def _seed(url: str) -> None:
    stores = await open_stores(url)
    now = time.time()
    try:
        for status, days_ago in [
            (Status.DONE, 10), (Status.DONE, 10), (Status.DONE, 2),
            (Status.ERROR, 10), (Status.ERROR, 40), (Status.CANCELLED, 10),
        ]:  # fmt: skip
            await finished(stores.tasks, status, now - days_ago * DAY)
    finally:
        await stores.close()


async def _counts(url: str) -> dict[Status, int]:
    stores = await open_stores(url)
    try:
        return await stores.tasks.count_by_status()
    finally:
        await stores.close()


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/prune.db"
    asyncio.run(_seed(url))
    return url


def prune(url: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["tasks", "prune", "--database-url", url, *args], env=env)
    return result.exit_code, result.output


def test_dry_run_counts_by_the_retention_settings_and_deletes_nothing(url: str) -> None:
    code, out = prune(url, "--dry-run")
    assert code == 0, out
    assert "done: 2 would be deleted (finished more than 1w ago)" in out
    assert "error: 1 would be deleted (finished more than 30d ago)" in out
    assert "cancelled: 1 would be deleted" in out
    assert asyncio.run(_counts(url))[Status.DONE] == 3


def test_prune_deletes_what_the_dry_run_counted(url: str) -> None:
    code, out = prune(url)
    assert code == 0, out
    assert "done: 2 deleted" in out and "error: 1 deleted" in out
    counts = asyncio.run(_counts(url))
    assert (counts[Status.DONE], counts[Status.ERROR], counts[Status.CANCELLED]) == (1, 1, 0)


def test_older_than_and_status_choose_what_goes(url: str) -> None:
    code, out = prune(url, "--older-than", "1d", "--status", "done")
    assert (code, out.strip()) == (0, "done: 3 deleted (finished more than 1d ago)")
    counts = asyncio.run(_counts(url))
    assert (counts[Status.DONE], counts[Status.ERROR], counts[Status.CANCELLED]) == (0, 2, 1)


def test_zero_retention_keeps_a_status(url: str) -> None:
    env = {"TASKTRACK_RETENTION_DONE": "0", "TASKTRACK_RETENTION_ERROR": "0",
           "TASKTRACK_RETENTION_CANCELLED": "0"}  # fmt: skip
    code, out = prune(url, env=env)
    assert code == 0 and "nothing to prune" in out
    assert asyncio.run(_counts(url))[Status.DONE] == 3


@pytest.mark.parametrize(
    "bad", [["--older-than", "7days"], ["--older-than", "0"], ["--status", "queued"]]
)
def test_bad_arguments_are_usage_errors(url: str, bad: list[str]) -> None:
    code, _ = prune(url, *bad)
    assert code == 2
    assert asyncio.run(_counts(url))[Status.DONE] == 3
