"""``GET /tasks/{taskId}/attempts`` over real HTTP, on SQLite and PostgreSQL (issue 13)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from click.testing import CliRunner

from tasktrack.cli.main import cli
from tasktrack.client import AsyncTaskTrackClient, NotFound, TaskAttempt, TaskTrackClient
from tasktrack.domain.history import Outcome
from tests.integration.conftest import Seeder, Server, StartServer

T0 = 1_700_000_100.0
PREFIXES = ["/v2.0", "/new/v2.0"]


async def _seed(s: Seeder) -> dict[str, str]:
    """A task that failed once then timed out, one running, one never run, a foreign one."""
    retried, running, queued = await s.add(
        [
            s.task("attempts.retried", total_step=3),
            s.task("attempts.running"),
            s.task("attempts.queued"),
        ]
    )
    (foreign,) = await s.add([s.task("attempts.foreign", org_id=s.other_org)])
    store = s.stores.tasks
    await store.claim("w-one", ["attempts.retried"], 1, 60.0, T0)
    await store.retry(retried.id, 1, T0, T0 + 1.25, reason="boom")
    await store.claim("w-two", ["attempts.retried"], 1, 60.0, T0 + 2)
    await store.fail(retried.id, 2, "timed out after 3s", T0 + 5, outcome=Outcome.TIMEOUT)
    # Two organisations: one claim takes from one of them (claims take turns, issue 14).
    for _ in range(2):
        await store.claim("w-three", ["attempts.running", "attempts.foreign"], 2, 60.0, T0 + 7)
    return {
        "retried": retried.id,
        "running": running.id,
        "queued": queued.id,
        "foreign": foreign.id,
    }


@pytest.fixture(scope="module")
def srv(module_server_factory: StartServer) -> Server:
    return module_server_factory(seed=_seed)


@pytest.fixture(scope="module")
def client(srv: Server) -> Iterator[httpx.Client]:
    with srv.client() as c:
        yield c


def _get(client: httpx.Client, task_id: str, accept: str, prefix: str = "/v2.0") -> httpx.Response:
    return Server.request(client, "GET", f"{prefix}/tasks/{task_id}/attempts", accept)


def test_ended_attempts_in_order_with_worker_times_outcome_and_duration(
    srv: Server, client: httpx.Client
) -> None:
    response = _get(client, srv.seeded["retried"], "application/json")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "items": [
            {
                "attempt": 1,
                "workerId": "w-one",
                "startedAt": "2023-11-14T22:15:00Z",
                "endedAt": "2023-11-14T22:15:01Z",
                "outcome": "error",
                "reason": "boom",
                "durationMs": 1250,
            },
            {
                "attempt": 2,
                "workerId": "w-two",
                "startedAt": "2023-11-14T22:15:02Z",
                "endedAt": "2023-11-14T22:15:05Z",
                "outcome": "timeout",
                "reason": "timed out after 3s",
                "durationMs": 3000,
            },
        ],
        "total": 2,
    }


def test_a_running_attempt_is_shown_as_running(srv: Server, client: httpx.Client) -> None:
    body = _get(client, srv.seeded["running"], "application/json").json()
    assert body["total"] == 1
    (running,) = body["items"]
    assert running["outcome"] == "running"
    assert (running["workerId"], running["endedAt"], running["durationMs"]) == (
        "w-three",
        None,
        None,
    )


def test_a_task_never_run_has_no_attempts(srv: Server, client: httpx.Client) -> None:
    assert _get(client, srv.seeded["queued"], "application/json").json() == {
        "items": [],
        "total": 0,
    }


@pytest.mark.parametrize("prefix", PREFIXES)
def test_hal_links_to_itself_and_the_task_under_the_prefix_used(
    srv: Server, client: httpx.Client, prefix: str
) -> None:
    task_id = srv.seeded["retried"]
    response = _get(client, task_id, "application/hal+json", prefix)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/hal+json"
    body: dict[str, Any] = response.json()
    assert body["_links"] == {
        "self": {"href": f"{prefix}/tasks/{task_id}/attempts"},
        "task": {"href": f"{prefix}/tasks/{task_id}"},
    }
    plain = _get(client, task_id, "application/json", prefix).json()
    assert {k: v for k, v in body.items() if k != "_links"} == plain
    assert client.get(body["_links"]["task"]["href"]).json()["_id"] == task_id


@pytest.mark.parametrize("accept", ["application/xml", "text/xml"])
def test_xml_says_what_the_json_says(srv: Server, client: httpx.Client, accept: str) -> None:
    response = _get(client, srv.seeded["retried"], accept)
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{accept}; charset=utf-8"
    root = ElementTree.fromstring(response.content)
    assert root.tag == "attempts"
    assert root.findtext("total") == "2"
    items = root.findall("items/attempt")
    assert [(a.findtext("attempt"), a.findtext("outcome")) for a in items] == [
        ("1", "error"),
        ("2", "timeout"),
    ]
    assert items[0].findtext("durationMs") == "1250"


def test_csv_is_not_acceptable(srv: Server, client: httpx.Client) -> None:
    response = _get(client, srv.seeded["retried"], "text/csv")
    assert response.status_code == 406
    assert response.headers["content-type"].startswith("application/problem+json")


def test_another_organisations_task_is_missing(srv: Server, client: httpx.Client) -> None:
    foreign = _get(client, srv.seeded["foreign"], "application/json")
    missing = _get(client, "0" * 23 + "1", "application/json")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["code"] == missing.json()["code"] == 1002


def test_a_malformed_id_is_a_400(client: httpx.Client) -> None:
    response = _get(client, "nope", "application/json")
    assert response.status_code == 400
    assert response.json()["code"] == 1005


# --- the client and the CLI ------------------------------------------------------------------


def test_client_reads_attempts(srv: Server) -> None:
    with TaskTrackClient(srv.base_url, api_key=srv.api_key) as c:
        first, second = c.attempts(srv.seeded["retried"])
        (running,) = c.attempts(srv.seeded["running"])
        with pytest.raises(NotFound):
            c.attempts(srv.seeded["foreign"])
    assert (first.number, first.worker_id, first.outcome, first.reason) == (
        1,
        "w-one",
        "error",
        "boom",
    )
    assert (first.duration_ms, second.outcome, second.duration_ms) == (1250, "timeout", 3000)
    assert first.started_at == datetime.fromtimestamp(T0, UTC)
    assert (running.outcome, running.ended_at, running.duration_ms) == ("running", None, None)


def test_async_client_reads_attempts(srv: Server) -> None:
    async def read() -> list[TaskAttempt]:
        async with AsyncTaskTrackClient(srv.base_url, api_key=srv.api_key) as c:
            return await c.attempts(srv.seeded["retried"])

    assert [a.outcome for a in asyncio.run(read())] == ["error", "timeout"]


def _cli(srv: Server, *args: str) -> Any:
    runner = CliRunner()
    connection = ["--url", srv.base_url, "--api-key", srv.api_key]
    return runner.invoke(cli, ["tasks", "attempts", *args, *connection])


def test_cli_shows_a_table_of_attempts(srv: Server) -> None:
    result = _cli(srv, srv.seeded["retried"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = next(line for line in lines if "attempt" in line and "outcome" in line)
    for column in ("worker", "started", "ended", "duration", "reason"):
        assert column in header
    rows = [line for line in lines if "w-one" in line or "w-two" in line]
    assert "error" in rows[0] and "boom" in rows[0] and "1.25s" in rows[0]
    assert "timeout" in rows[1] and "3.00s" in rows[1]


def test_cli_prints_attempts_as_json_and_exits_6_for_a_missing_task(srv: Server) -> None:
    result = _cli(srv, srv.seeded["retried"], "--output", "json")
    assert result.exit_code == 0, result.output
    docs = json.loads(result.output)
    assert [(d["attempt"], d["outcome"], d["durationMs"]) for d in docs] == [
        (1, "error", 1250),
        (2, "timeout", 3000),
    ]
    assert _cli(srv, srv.seeded["foreign"]).exit_code == 6
