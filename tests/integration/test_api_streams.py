"""Revocation reaches an open event stream (through the real server).

A dashboard stream opened with a user's key must stop within a few seconds of the user being
disabled (or the key revoked), and a task created afterwards by someone else of the same
organisation must never be sent on it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import pytest

from tasktrack.service.identity import IdentityService
from tasktrack.storage.base import Stores
from tests.integration.conftest import Server

#: The issue's bound: the stream ends (or stops delivering) within this many seconds.
REVOCATION_DEADLINE = 5.0


@dataclass
class StreamReader:
    """Reads an event stream on a thread, keeping every byte and noting when it ended."""

    server: Server
    key: str
    text: str = ""
    ended: threading.Event = field(default_factory=threading.Event)
    ready: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()
        assert self.ready.wait(15), f"no ready event; got {self.text!r}"

    def _read(self) -> None:
        try:
            with self.server.client(auth=False, headers={"X-API-Key": self.key}) as client:
                with client.stream("GET", "/v2.0/events") as response:
                    assert response.status_code == 200
                    for chunk in response.iter_text():
                        self.text += chunk
                        if "event: ready" in self.text:
                            self.ready.set()
        except httpx.HTTPError:
            pass
        finally:
            self.ended.set()


def _second_user_key(server: Server) -> tuple[str, str]:
    """A new user of the server's organisation and an API key of theirs: (user id, key)."""

    async def make(stores: Stores) -> tuple[str, str]:
        identity = IdentityService(stores.identity)
        user = await identity.create_user(server.org_id, "viewer@example.com")
        _, key = await identity.create_api_key(user.id, label="stream")
        return user.id, key

    result: tuple[str, str] = server.write(make)
    return result


def _disable(user_id: str) -> Callable[[Stores], Awaitable[None]]:
    async def go(stores: Stores) -> None:
        await IdentityService(stores.identity).disable_user(user_id)

    return go


def _revoke(key: str) -> Callable[[Stores], Awaitable[None]]:
    async def go(stores: Stores) -> None:
        await IdentityService(stores.identity).revoke_api_key(key.split("_")[1])

    return go


@pytest.mark.parametrize("how", ["disable-user", "revoke-key"])
def test_revocation_ends_an_open_stream_and_nothing_later_is_sent(server: Server, how: str) -> None:
    user_id, key = _second_user_key(server)
    reader = StreamReader(server, key)
    reader.start()
    server.write(_disable(user_id) if how == "disable-user" else _revoke(key))
    revoked_at = time.monotonic()
    with server.client() as owner:  # another credential of the same organisation
        created = owner.post("/v2.0/tasks", json={"name": "demo.sleep", "data": {}})
    assert created.status_code == 201, created.text
    assert reader.ended.wait(REVOCATION_DEADLINE), "the stream outlived the revocation"
    assert time.monotonic() - revoked_at <= REVOCATION_DEADLINE
    assert created.json()["_id"] not in reader.text
    with server.client(auth=False, headers={"X-API-Key": key}) as client:
        assert client.get("/v2.0/events").status_code == 401  # and it cannot reconnect


def test_a_valid_credential_keeps_its_stream_and_sees_new_tasks(server: Server) -> None:
    _, key = _second_user_key(server)
    reader = StreamReader(server, key)
    reader.start()
    with server.client() as owner:
        created = owner.post("/v2.0/tasks", json={"name": "demo.sleep", "data": {}})
    task_id = created.json()["_id"]
    deadline = time.monotonic() + 10
    while task_id not in reader.text and time.monotonic() < deadline:
        time.sleep(0.05)  # polling the reader's buffer, bounded by the deadline
    assert task_id in reader.text and not reader.ended.is_set()
