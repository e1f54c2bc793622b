"""``GET /v2.0/overview`` through the real server, on SQLite and PostgreSQL (issue 16): tasks
finished per bucket and status, run-time percentiles per type, queue depth, all of the
caller's organisation only."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tasktrack.domain.lifecycle import Status
from tests.integration.conftest import Seeder, Server, StartServer

#: Seeded relative to the real clock: the overview looks back from "now".
NOW = time.time()


async def _seed(seeder: Seeder) -> None:
    ended = NOW - 120
    tasks = [
        seeder.task(
            "report.build",
            status=Status.DONE,
            created_at=int(ended) - 60,
            last_run_at=seeder.utc(ended - seconds),
            last_finished_at=seeder.utc(ended),
        )
        for seconds in (1.0, 2.0, 3.0)
    ]
    tasks.append(
        seeder.task(
            "report.build",
            status=Status.ERROR,
            created_at=int(ended) - 60,
            last_run_at=seeder.utc(ended - 50),
            last_finished_at=seeder.utc(ended),
            fail_reason="boom",
        )
    )
    tasks += [seeder.task("report.build", created_at=int(NOW) - 10) for _ in range(2)]
    tasks += [
        seeder.task(
            "report.build",
            status=Status.DONE,
            org_id=seeder.other_org,
            created_at=int(ended) - 60,
            last_run_at=seeder.utc(ended - 99),
            last_finished_at=seeder.utc(ended),
        )
        for _ in range(5)
    ]
    tasks.append(seeder.task("queued.elsewhere", org_id=seeder.other_org))
    await seeder.add(tasks)


@pytest.fixture(scope="module")
def server(module_server_factory: StartServer) -> Server:
    return module_server_factory(seed=_seed)


def _overview(server: Server, query: str = "") -> dict[str, Any]:
    with server.client() as client:
        response = client.get(f"/v2.0/overview{query}", headers={"Accept": "application/json"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_overview_counts_the_callers_organisation_per_minute(server: Server) -> None:
    body = _overview(server)
    assert body["hours"] == 1 and body["bucketSeconds"] == 60
    buckets = body["finished"]
    assert len(buckets) == 60
    assert [b["at"] for b in buckets] == sorted(b["at"] for b in buckets)
    assert sum(b["done"] for b in buckets) == 3
    assert sum(b["error"] for b in buckets) == 1
    (minute,) = [b for b in buckets if b["done"]]
    assert minute["at"] <= NOW - 120 < minute["at"] + 60 and minute["error"] == 1


def test_durations_are_percentiles_of_done_tasks_per_type(server: Server) -> None:
    (durations,) = _overview(server)["durations"]
    assert durations == {
        "name": "report.build",
        "count": 3,
        "p50Ms": 2000,
        "p90Ms": 3000,
        "p99Ms": 3000,
        "maxMs": 3000,
    }


def test_queue_depth_ends_with_a_fresh_read(server: Server) -> None:
    depth = _overview(server)["queueDepth"]
    assert depth and depth[-1]["queued"] == 2 and depth[-1]["running"] == 0
    assert depth[-1]["at"] >= NOW


def test_a_longer_window_keeps_sixty_buckets(server: Server) -> None:
    body = _overview(server, "?hours=6")
    assert body["bucketSeconds"] == 360 and len(body["finished"]) == 60
    assert sum(b["done"] for b in body["finished"]) == 3


@pytest.mark.parametrize("hours", ["0", "25", "abc", "-1", "1.5"])
def test_a_bad_window_is_a_problem(server: Server, hours: str) -> None:
    with server.client() as client:
        response = client.get("/v2.0/overview", params={"hours": hours})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")


def test_the_overview_needs_a_credential(server: Server) -> None:
    with server.client(auth=False) as client:
        assert client.get("/v2.0/overview").status_code == 401
