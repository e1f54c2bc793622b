"""Webhooks end to end: a real ``tasktrack serve`` (API + in-process worker) on SQLite and
PostgreSQL delivers task events to a real HTTP receiver, signed per Standard Webhooks."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tasktrack.service.identity import IdentityService
from tests import pg
from tests.helpers import wait_sync
from tests.integration.conftest import Seeder, Server, StartServer, start_server, stop_server
from tests.integration.webhook_receiver import Receiver, run_receiver

receiver_for = contextlib.contextmanager(run_receiver)

REPO = Path(__file__).resolve().parents[2]
#: A worker in the server, quick retries, and a local receiver allowed (it is on loopback).
ENV = {
    "TASKTRACK_WORKER": "1",
    "TASKTRACK_APP_MODULES": "tests.apps.handlers",
    "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p),
    "TASKTRACK_WEBHOOK_ALLOW_PRIVATE": "1",
    "TASKTRACK_WEBHOOK_BACKOFF": "0.2",
    "TASKTRACK_POLL_INTERVAL": "0.1",
}
pytestmark = pytest.mark.timeout(120)


def subscribe(server: Server, url: str, events: list[str]) -> dict[str, Any]:
    with server.client() as client:
        reply = client.post("/v2.0/webhooks", json={"url": url, "events": events})
    assert reply.status_code == 201, reply.text
    body: dict[str, Any] = reply.json()
    return body


def create_task(server: Server, name: str = "test.noop") -> str:
    with server.client() as client:
        reply = client.post("/v2.0/tasks", json={"name": name, "data": {}})
    assert reply.status_code == 201, reply.text
    return str(reply.json()["_id"])


def deliveries(server: Server, hook_id: str) -> list[dict[str, Any]]:
    with server.client() as client:
        reply = client.get(f"/v2.0/webhooks/{hook_id}/deliveries", params={"limit": 50})
    assert reply.status_code == 200, reply.text
    items: list[dict[str, Any]] = reply.json()["items"]
    return items


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiver_for([503, 503]) as r:
        yield r


def test_events_are_signed_retried_and_visible(
    server_factory: StartServer, receiver: Receiver
) -> None:
    # Secrets under a configured key here; under the database's key in the kill -9 test.
    server = server_factory(env={**ENV, "TASKTRACK_WEBHOOK_KEY": "an operator's long random key"})
    hook = subscribe(server, receiver.url, ["task.created", "task.done"])
    assert hook["secret"].startswith("whsec_")
    task_id = create_task(server)

    got = wait_sync(receiver.accepted, lambda r: len(r) == 2, timeout=30, what="2 deliveries")
    assert sorted(r.event for r in got) == ["task.created", "task.done"]
    for request in receiver.all():  # the refused first two as well: every one is signed
        body = request.verified(hook["secret"])
        assert body["data"]["_id"] == task_id
    done = next(r for r in got if r.event == "task.done").verified(hook["secret"])
    assert done["data"]["status"] == "done"
    # Retries resend the same message: the refused requests carry delivered messages' ids.
    assert {r.message_id for r in receiver.all()} == {r.message_id for r in got}

    attempts = wait_sync(lambda: deliveries(server, hook["id"]), lambda d: len(d) == 4)
    assert sorted((a["outcome"], a["statusCode"]) for a in attempts) == [
        ("delivered", 200), ("delivered", 200), ("retry", 503), ("retry", 503),
    ]  # fmt: skip
    with server.client() as client:
        one = client.get(f"/v2.0/webhooks/{hook['id']}").json()
    assert one["messages"] == {"pending": 0, "delivered": 2, "dead": 0}
    assert "secret" not in one


def test_a_message_is_dead_lettered_after_its_attempts(server_factory: StartServer) -> None:
    with receiver_for([500] * 10) as receiver:
        server = server_factory(env={**ENV, "TASKTRACK_WEBHOOK_MAX_ATTEMPTS": "3"})
        hook = subscribe(server, receiver.url, ["task.created"])
        create_task(server)
        attempts = wait_sync(
            lambda: deliveries(server, hook["id"]),
            lambda d: bool(d) and d[0]["outcome"] == "dead",
            timeout=30,
            what="a dead letter",
        )
    assert [a["outcome"] for a in attempts] == ["dead", "retry", "retry"]
    assert [a["attempt"] for a in attempts] == [3, 2, 1]
    with server.client() as client:
        assert client.get(f"/v2.0/webhooks/{hook['id']}").json()["messages"]["dead"] == 1


async def _other_org_key(seeder: Seeder) -> str:
    identity = IdentityService(seeder.stores.identity)
    org = await identity.create_organisation("other")
    user = await identity.create_user(org.id, "other@example.test")
    _, key = await identity.create_api_key(user.id)
    read_only = await identity.create_api_key(seeder.user_id, read_only=True)
    return f"{key} {read_only[1]}"


def test_subscriptions_are_guarded(server_factory: StartServer) -> None:
    server = server_factory(seed=_other_org_key)  # TASKTRACK_WEBHOOK_ALLOW_PRIVATE unset
    other_key, read_only_key = server.seeded.split()
    with server.client() as client:
        for url in (
            "http://127.0.0.1:9/x",
            "http://169.254.169.254/latest",
            "http://[::1]/",
            "http://localhost/",
            "ftp://example.com/",
            "http://u:p@example.com/",
        ):
            reply = client.post("/v2.0/webhooks", json={"url": url})
            assert reply.status_code == 400, (url, reply.text)
            assert reply.headers["content-type"] == "application/problem+json"
        bad_event = client.post("/v2.0/webhooks", json={"url": "http://x", "events": ["nope"]})
        assert bad_event.status_code == 400
        assert "unknown event" in bad_event.json()["detail"]
    # A subscription made with the allowance (as an operator could) stays the org's own.
    hook = server.write(lambda stores: _subscribe_directly(stores, server))
    with server.client(headers={"X-API-Key": other_key}) as other:
        assert other.get(f"/v2.0/webhooks/{hook}").status_code == 404
        assert other.delete(f"/v2.0/webhooks/{hook}").status_code == 404
        assert other.get("/v2.0/webhooks").json()["items"] == []
    with server.client(headers={"X-API-Key": read_only_key}) as reader:
        assert reader.get(f"/v2.0/webhooks/{hook}").status_code == 200
        assert reader.delete(f"/v2.0/webhooks/{hook}").status_code == 403
        assert reader.post("/v2.0/webhooks", json={"url": "http://x"}).status_code == 403
    with server.client() as client:
        assert client.delete(f"/v2.0/webhooks/{hook}").status_code == 204
        assert client.get(f"/v2.0/webhooks/{hook}").status_code == 404


async def _subscribe_directly(stores: Any, server: Server) -> str:
    from tasktrack.domain.identity import Principal
    from tasktrack.service.webhook_secrets import SecretBox
    from tasktrack.service.webhooks import WebhookService

    box = await SecretBox.open(stores.identity)
    hooks = WebhookService(stores.webhooks, box, allow_private=True)
    created = await hooks.create(Principal(server.user_id, server.org_id), "http://127.0.0.1/")
    return created.subscription.id


def test_a_delivery_cut_by_kill_9_is_sent_after_restart(
    tmp_path: Path, api_backend: str, request: pytest.FixtureRequest
) -> None:
    env = {**ENV, "TASKTRACK_WEBHOOK_TIMEOUT": "2"}  # lease: 2 s + 5 s
    with contextlib.ExitStack() as stack:
        db_url = None
        if api_backend == "postgres":
            template = request.getfixturevalue("pg_template")
            db_url = stack.enter_context(contextlib.contextmanager(pg.database_from)(template))
        receiver = stack.enter_context(receiver_for(hold_first=True))
        first = start_server(tmp_path / "first", env=env, db_url=db_url)
        stack.callback(stop_server, first)
        hook = subscribe(first, receiver.url, ["task.created"])
        create_task(first)
        assert receiver.held.wait(30), "the first delivery never arrived"
        first.process.kill()  # SIGKILL while the request is in flight
        first.process.wait(10)
        receiver.release.set()
        assert receiver.accepted() == []

        second = start_server(tmp_path / "second", env=env, db_url=first.db_url)
        stack.callback(stop_server, second)
        got = wait_sync(receiver.accepted, lambda r: len(r) == 1, timeout=30, what="redelivery")
        attempts = wait_sync(lambda: deliveries(second, hook["id"]), lambda d: len(d) == 1)
    held = receiver.held_request
    assert held is not None
    assert got[0].message_id == held.message_id  # the same message, not a new one
    assert got[0].verified(hook["secret"])["type"] == "task.created"
    assert [(a["attempt"], a["outcome"]) for a in attempts] == [(2, "delivered")]
