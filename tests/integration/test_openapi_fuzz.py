"""Schemathesis against the real app: generated requests, replies checked against the document.

The app runs in-process over ASGI (schemathesis starts its lifespan) on a SQLite database in a
temporary directory, seeded with an API key and tasks in every status, so that generated task
ids often name a real task (200, 409, 304) rather than always missing (404).

Checked on every reply: no 500 (``not_a_server_error``), a documented status, a documented
media type, a body that validates against the documented schema (JSON types; XML and CSV are
``type: string``) and the documented required headers.

Operations the document describes but the app does not serve yet (the OAuth2 token endpoint and
``/metrics``, which other work adds) are skipped until they are served; the unit test
``test_openapi.py`` keeps that list honest.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
import re
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    allow_header_conformance,
    content_type_conformance,
    ensure_resource_availability,
    missing_required_header,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
    use_after_free,
)
from schemathesis.python import asgi
from starlette.applications import Starlette
from starlette.routing import Route

from tasktrack.api.app import create_app
from tasktrack.api.negotiation import SUPPORTED
from tasktrack.api.openapi import REVOKE_PATH, TOKEN_PATH, openapi_document
from tasktrack.config import Settings
from tasktrack.domain.identity import Principal
from tasktrack.domain.lifecycle import Status
from tasktrack.domain.task import CONTRACT_FIELDS
from tasktrack.loader import load_registry
from tasktrack.service.identity import DEFAULT_USER, IdentityService
from tasktrack.service.tasks import TaskService
from tasktrack.storage.factory import open_stores

pytestmark = pytest.mark.timeout(180)

REGISTRY = load_registry([])
DOCUMENT: dict[str, Any] = orjson.loads(openapi_document(REGISTRY))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
#: Further checks of each generated reply: a 405 with a truthful Allow, required headers
#: enforced, and no resource still served after it was deleted. Not run here:
#: negative_data_rejection and positive_data_acceptance (the fuzz steers Accept and task ids
#: after generation, so what they judge is not what was sent; and cursors are opaque: only
#: server-issued ones are valid), ignored_auth (its own probes; the 401 tests cover it) and
#: object_level_authorization (two users' traffic; test_auth_tenants covers it).
ALL_CHECKS = [
    *CHECKS,
    missing_required_header,
    unsupported_method,
    allow_header_conformance,
    use_after_free,
    ensure_resource_availability,
]
PROJECT = "0123456789abcdef01234567"
PASSWORD = "fuzz-password-1234"
FORM = "application/x-www-form-urlencoded"
_ID = re.compile(r"[0-9a-f]{24}")


def _template(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def _served_paths() -> set[str]:
    app = create_app(Settings(), REGISTRY)  # routes only: no database is opened here
    return {_template(route.path) for route in app.routes if isinstance(route, Route)}


_SERVED = _served_paths()
schema = schemathesis.openapi.from_dict(DOCUMENT).exclude(
    path=[path for path in DOCUMENT["paths"] if _template(path) not in _SERVED]
)
# Credentials are added to every generated request (see _steer); the 401 paths are tested below.
schema.config.generation.update(with_security_parameters=False)
# The event stream lasts a minute: read its first event (`ready`) and hang up.
schema.config.max_stream_events = 1


@dataclass(frozen=True)
class Seeded:
    """The app under test and what the database holds."""

    settings: Settings
    app: Starlette
    #: A second app on the same database for the token endpoint's fuzzing, whose failed
    #: grants trip the failed-authentication limiter: it must not throttle the main app.
    auth_app: Starlette
    key: str
    read_only_key: str
    #: The default user's password, if this build can set one (the OAuth 2.0 work).
    password: str | None
    #: Task ids in every status: queued, cancelled, active, done, error, and one in PROJECT.
    task_ids: tuple[str, ...]
    by_status: dict[str, str]

    def make_app(self, failures_per_minute: int) -> Starlette:
        """Another app on the same database, with its own failed-authentication limit
        (``TASKTRACK_AUTH_FAILURES_PER_MINUTE``; 0 = off)."""
        settings = replace(self.settings, auth_failures_per_minute=failures_per_minute)
        return create_app(settings, REGISTRY)


async def _seed(url: str) -> tuple[str, str, str | None, dict[str, str]]:
    stores = await open_stores(url)
    try:
        identity = IdentityService(stores.identity)
        _, user = await identity.ensure_default()
        _, key = await identity.create_api_key(user.id, label="fuzz")
        _, read_only_key = await identity.create_api_key(user.id, read_only=True, label="fuzz-ro")
        set_password = getattr(identity, "set_password", None)
        if set_password is not None:
            await set_password(user.id, PASSWORD)
        principal = Principal(user.id, user.org_id)
        service = TaskService(stores.tasks, REGISTRY)
        for _ in range(3):  # claimed below: active, done, error
            await service.create(principal, "demo.sleep", {"seconds": 1, "steps": 2})
        now = time.time()
        active, done, failed = await stores.tasks.claim("fuzz", ["demo.sleep"], 3, 3600.0, now)
        await stores.tasks.finish(done.id, done.attempts, now, '{"answer":[42,"x",null]}')
        await stores.tasks.fail(failed.id, failed.attempts, "boom", now)
        cancelled = await service.create(principal, "demo.fail", {"message": "never runs"})
        await service.cancel(principal, cancelled.id)
        queued = await service.create(principal, "demo.fail", {"message": "x", "nested": [1]})
        in_project = await service.create(principal, "demo.sleep", {}, project_id=PROJECT)
        by_status = {
            Status.QUEUED.value: queued.id,
            Status.CANCELLED.value: cancelled.id,
            Status.ACTIVE.value: active.id,
            Status.DONE.value: done.id,
            Status.ERROR.value: failed.id,
            "project": in_project.id,
        }
        return key, read_only_key, PASSWORD if set_password else None, by_status
    finally:
        await stores.close()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    directory: Path = tmp_path_factory.mktemp("openapi-fuzz")
    url = f"sqlite:///{directory}/tasks.db"
    key, read_only_key, password, by_status = asyncio.run(_seed(url))
    settings = Settings(database_url=url, sqlite_synchronous="OFF")
    app, auth_app = create_app(settings, REGISTRY), create_app(settings, REGISTRY)
    ids = tuple(by_status.values())
    yield Seeded(settings, app, auth_app, key, read_only_key, password, ids, by_status)
    asgi.shutdown_lifespans()  # closes the apps' databases


#: What the fuzzer's requests ask for: each served type, and one the server cannot serve (406).
ACCEPTS = (*SUPPORTED, "image/png")


def _steer(case: schemathesis.Case[Any], seeded: Seeded) -> dict[str, str]:
    """Point part of the generated requests at real tasks; return the headers to send.

    Deterministic: every choice is a function of the generated values themselves.
    """
    path = case.path_parameters or {}
    task_id = path.get("taskId")
    if isinstance(task_id, str) and _ID.fullmatch(task_id) and int(task_id[:2], 16) < 0xC0:
        ids = _undeletable(seeded) if case.method == "DELETE" else seeded.task_ids
        path["taskId"] = ids[int(task_id[2:4], 16) % len(ids)]
    query = case.query or {}
    project = query.get("projectId")
    if isinstance(project, str) and _ID.fullmatch(project) and project[0] in "01234567":
        query["projectId"] = PROJECT
    wait = query.get("wait")
    if isinstance(wait, int | float) and not isinstance(wait, bool) and wait > 0.05:
        query["wait"] = 0.05  # documented up to 60 s; a long poll would only slow the run
    if isinstance(wait, str) and wait.replace(".", "", 1).isdigit() and float(wait) > 0.05:
        query["wait"] = "0.05"  # the same, for the coverage phase's values sent as text
    # OpenAPI ignores a header parameter named Accept, so the generator never varies it.
    fingerprint = repr((case.path_parameters, case.query, case.headers, case.body)).encode()
    accept = ACCEPTS[zlib.crc32(fingerprint) % len(ACCEPTS)]
    return {"X-API-Key": seeded.key, "Accept": accept}


def _undeletable(seeded: Seeded) -> tuple[str, ...]:
    """The seeded task a fuzzed DELETE may aim at (a 409) without removing what the other
    tests read: the active one, which no fuzzed request can finish (a fuzzed cancel makes a
    queued task ``cancelled``, and so deletable, but an active one only ``cancelling``). Its
    204 is tested on a task of its own below."""
    return (seeded.by_status["active"],)


def _conformance_test(operation_id: str) -> Callable[..., None]:
    """The fuzz test of one operation."""

    @schema.include(operation_id=operation_id).parametrize()
    @settings(
        max_examples=50,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def test(case: schemathesis.Case[Any], seeded: Seeded) -> None:
        headers = _steer(case, seeded)
        app = seeded.auth_app if case.path.startswith("/auth/") else seeded.app
        # A steered Accept the server cannot serve makes a valid request a 406 on purpose.
        checks = ALL_CHECKS if headers["Accept"] in SUPPORTED else CHECKS
        case.call_and_validate(headers=headers, checks=checks, app=app)

    return test


# One test function per operation, not one ``schema.parametrize()`` over all of them: with
# schemathesis 4.32 on pytest 9.2 the items of one parametrized function share a node id, and
# pytest-xdist (``make test`` runs ``-n 2``) then runs only one of them.
OPERATION_IDS = [
    operation["operationId"]
    for path, item in DOCUMENT["paths"].items()
    if _template(path) in _SERVED
    for operation in item.values()
]
for _operation_id in OPERATION_IDS:
    globals()[f"test_{_operation_id}_replies_conform"] = _conformance_test(_operation_id)


def test_every_served_operation_is_fuzzed() -> None:
    assert len(list(schema.get_all_operations())) == len(OPERATION_IDS) >= 10
    assert {"readTask", "readTaskNew", "createTask", "cancelTask", "indexTasks"} <= set(
        OPERATION_IDS
    )
    assert {"readTaskResult", "readTaskDetailsNew", "rerunTask", "rerunTaskNew"} <= set(
        OPERATION_IDS
    )


# --- targeted cases the generator cannot reach -----------------------------------------------


def _operation(path: str, method: str) -> Any:
    return schema[path][method]


def test_read_only_key_is_refused_writes_as_documented(seeded: Seeded) -> None:
    headers = {"X-API-Key": seeded.read_only_key}
    create = _operation("/v2.0/tasks", "POST").Case(body={"name": "demo.sleep", "data": {}})
    response = create.call(headers=headers, app=seeded.app)
    assert response.status_code == 403
    create.validate_response(response, checks=CHECKS, headers=headers)
    cancel = _operation("/new/v2.0/tasks/{taskId}/cancel", "POST").Case(
        path_parameters={"taskId": seeded.by_status["queued"]}
    )
    response = cancel.call(headers=headers, app=seeded.app)
    assert response.status_code == 403
    cancel.validate_response(response, checks=CHECKS, headers=headers)
    delete = _operation("/v2.0/tasks/{taskId}", "DELETE").Case(
        path_parameters={"taskId": seeded.by_status["done"]}
    )
    response = delete.call(headers=headers, app=seeded.app)
    assert response.status_code == 403
    delete.validate_response(response, checks=CHECKS, headers=headers)


def test_api_key_in_the_query_is_accepted(seeded: Seeded) -> None:
    case = _operation("/v2.0/tasks/{taskId}", "GET").Case(
        path_parameters={"taskId": seeded.by_status["done"]}, query={"api_key": seeded.key}
    )
    response = case.call(app=seeded.app)
    assert response.status_code == 200
    case.validate_response(response, checks=CHECKS)


@pytest.mark.parametrize("prefix", ["/v2.0", "/new/v2.0"])
def test_conditional_and_long_poll_reads_are_documented_304s(seeded: Seeded, prefix: str) -> None:
    headers = {"X-API-Key": seeded.key}
    path = prefix + "/tasks/{taskId}"
    task_id = seeded.by_status["done"]  # terminal: it never changes, so a wait ends at once
    first = _operation(path, "GET").Case(path_parameters={"taskId": task_id})
    response = first.call(headers=headers, app=seeded.app)
    assert response.status_code == 200
    first.validate_response(response, checks=CHECKS, headers=headers)
    etag = response.headers["etag"][0]
    for query in ({}, {"wait": 30}):
        again = {**headers, "If-None-Match": etag}
        case = _operation(path, "GET").Case(path_parameters={"taskId": task_id}, query=query)
        started = time.monotonic()
        response = case.call(headers=again, app=seeded.app)
        assert time.monotonic() - started < 5
        assert response.status_code == 304
        case.validate_response(response, checks=CHECKS, headers=again)
        assert response.content == b""
        assert response.headers["etag"] == [etag]


@pytest.mark.parametrize("status", ["done", "error"])
def test_cancelling_a_finished_task_is_a_documented_409(seeded: Seeded, status: str) -> None:
    headers = {"X-API-Key": seeded.key}
    case = _operation("/v2.0/tasks/{taskId}/cancel", "POST").Case(
        path_parameters={"taskId": seeded.by_status[status]}
    )
    response = case.call(headers=headers, app=seeded.app)
    assert response.status_code == 409
    case.validate_response(response, checks=CHECKS, headers=headers)


@pytest.mark.parametrize("prefix", ["/v2.0", "/new/v2.0"])
def test_deleting_a_finished_task_is_a_documented_204(seeded: Seeded, prefix: str) -> None:
    headers = {"X-API-Key": seeded.key, "Accept": "application/json"}
    create = _operation("/v2.0/tasks", "POST").Case(body={"name": "demo.fail", "data": {}})
    task_id = orjson.loads(create.call(headers=headers, app=seeded.app).content)["_id"]
    cancel = _operation("/v2.0/tasks/{taskId}/cancel", "POST")
    cancel.Case(path_parameters={"taskId": task_id}).call(headers=headers, app=seeded.app)
    case = _operation(f"{prefix}/tasks/{{taskId}}", "DELETE").Case(
        path_parameters={"taskId": task_id}
    )
    response = case.call(headers=headers, app=seeded.app)
    assert response.status_code == 204
    assert response.content == b""
    case.validate_response(response, checks=CHECKS, headers=headers)
    again = case.call(headers=headers, app=seeded.app)
    assert again.status_code == 404
    case.validate_response(again, checks=CHECKS, headers=headers)


@pytest.mark.parametrize("accept", ["application/hal+json", "application/json", "text/csv"])
def test_list_walk_with_real_cursors_conforms(seeded: Seeded, accept: str) -> None:
    headers = {"X-API-Key": seeded.key, "Accept": accept}
    query: dict[str, Any] = {"limit": 7, "sort": "name:asc,createdAt:desc"}
    seen: list[str] = []
    for _ in range(200):
        case = _operation("/new/v2.0/tasks", "GET").Case(query=query)
        response = case.call(headers=headers, app=seeded.app)
        assert response.status_code == 200
        case.validate_response(response, checks=CHECKS, headers=headers)
        if accept == "text/csv":
            rows = list(csv.reader(io.StringIO(response.content.decode(), newline="")))
            seen += [row[CONTRACT_FIELDS.index("_id")] for row in rows[1:]]
        else:
            seen += [item["_id"] for item in orjson.loads(response.content)["items"]]
        cursors = response.headers.get("x-next-cursor")
        if not cursors:
            break
        query = {"limit": 7, "next": cursors[0]}
    assert len(seen) == len(set(seen)) == int(response.headers["x-total-count"][0])
    assert set(seeded.task_ids) <= set(seen)


def test_oversized_body_is_a_documented_413(seeded: Seeded) -> None:
    """Was a 500 (BodyTooLarge unmapped) until a7c422b; beyond the generator's reach."""
    headers = {"X-API-Key": seeded.key}
    big = {"name": "demo.sleep", "data": {"pad": "x" * (Settings().max_body_bytes + 1)}}
    case = _operation("/v2.0/tasks", "POST").Case(body=big)
    response = case.call(headers=headers, app=seeded.app)
    case.validate_response(response, checks=CHECKS, headers=headers)
    assert response.status_code == 413


def _cursor(values: list[Any]) -> str:
    payload = {"d": "n", "s": ["createdAt:desc", "_id:desc"], "v": values}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_cursor_with_out_of_range_integer_is_a_documented_400(seeded: Seeded) -> None:
    """Was a 500 (sqlite3 OverflowError) until a7c422b; the generator makes no valid cursors."""
    headers = {"X-API-Key": seeded.key}
    case = _operation("/v2.0/tasks", "GET").Case(query={"next": _cursor([2**63, "f" * 24])})
    response = case.call(headers=headers, app=seeded.app)
    case.validate_response(response, checks=CHECKS, headers=headers)
    assert response.status_code == 400


# --- authentication ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def unlimited_app(seeded: Seeded) -> Starlette:
    """An app whose failed-authentication limiter is off, for tests that fail on purpose."""
    return seeded.make_app(0)


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ({}, {}),
        ({"X-API-Key": "tt_000000000000000000000000_" + "A" * 43}, {}),
        ({"X-API-Key": "not a key"}, {}),
        ({}, {"api_key": "wrong"}),
        ({"Authorization": "Bearer not-a-token"}, {}),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, {}),
    ],
    ids=["none", "unknown-key", "malformed-key", "query-key", "bearer", "basic"],
)
@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/v2.0/tasks", "GET"),
        ("/new/v2.0/tasks", "POST"),
        ("/v2.0/tasks/{taskId}", "GET"),
        ("/new/v2.0/tasks/{taskId}/cancel", "POST"),
    ],
)
def test_bad_credentials_are_a_documented_401(
    seeded: Seeded,
    unlimited_app: Starlette,
    path: str,
    method: str,
    headers: dict[str, str],
    query: dict[str, str],
) -> None:
    kwargs: dict[str, Any] = {"query": query}
    if "{taskId}" in path:
        kwargs["path_parameters"] = {"taskId": seeded.by_status["queued"]}
    if method == "POST" and "cancel" not in path:
        kwargs["body"] = {"name": "demo.sleep"}
    case = _operation(path, method).Case(**kwargs)
    response = case.call(headers=headers, app=unlimited_app)
    assert response.status_code == 401
    case.validate_response(response, checks=CHECKS, headers=headers)


def test_failed_authentication_is_rate_limited_as_documented(seeded: Seeded) -> None:
    pytest.importorskip("tasktrack.api.ratelimit", reason="the rate limiter has not landed")
    app = seeded.make_app(2)
    # Guesses at the key's secret: failures count per key (and per address), see docs/identity.md.
    bad = {"X-API-Key": seeded.key[:28] + "0" * 43}
    statuses = []
    for headers in (bad, bad, bad, {"X-API-Key": seeded.key}):
        case = _operation("/v2.0/tasks", "GET").Case()
        response = case.call(headers=headers, app=app)
        case.validate_response(response, checks=CHECKS, headers=headers)
        statuses.append(response.status_code)
    # Blocked after the budget is spent, and then even a right key waits (no oracle).
    assert statuses[0] == 401 and statuses[-1] == 429
    assert int(response.headers["retry-after"][0]) >= 1
    guess = {"grant_type": "password", "username": "admin@localhost", "password": "guess"}
    token = _operation(TOKEN_PATH, "POST").Case(body=guess, media_type=FORM)
    for _ in range(3):  # two wrong passwords spend the account's budget; the third waits
        response = token.call(app=app)
    assert response.status_code == 429
    token.validate_response(response, checks=CHECKS)


def test_oauth_round_trip_conforms(seeded: Seeded) -> None:
    """Password grant, a Bearer read, refresh, revoke: each reply as documented."""
    if seeded.password is None or REVOKE_PATH not in schema:
        pytest.skip("the OAuth 2.0 endpoints have not landed")
    app = seeded.make_app(0)
    token = _operation(TOKEN_PATH, "POST")

    def call(case: schemathesis.Case[Any], status: int, **headers: str) -> dict[str, Any]:
        response = case.call(headers=headers, app=app)
        assert response.status_code == status, response.content
        case.validate_response(response, checks=CHECKS, headers=headers)
        return orjson.loads(response.content) if response.content else {}

    signed_in = call(
        token.Case(
            body={"grant_type": "password", "username": DEFAULT_USER, "password": PASSWORD},
            media_type=FORM,
        ),
        200,
    )
    assert signed_in["token_type"] == "Bearer"
    read = _operation("/new/v2.0/tasks/{taskId}", "GET").Case(
        path_parameters={"taskId": seeded.by_status["done"]}
    )
    call(read, 200, Authorization=f"Bearer {signed_in['access_token']}")
    refresh = {"grant_type": "refresh_token", "refresh_token": signed_in["refresh_token"]}
    refreshed = call(token.Case(body=refresh, media_type=FORM), 200)
    call(token.Case(body=refresh, media_type=FORM), 400)  # rotated: the old one is spent
    revoke = _operation(REVOKE_PATH, "POST")
    call(revoke.Case(body={"token": refreshed["refresh_token"]}, media_type=FORM), 200)
    call(revoke.Case(body={"token": "never issued"}, media_type=FORM), 200)
    call(read, 401, Authorization=f"Bearer {refreshed['access_token']}")
    call(token.Case(body={"grant_type": "password"}, media_type=FORM), 400)
    call(token.Case(body={"grant_type": "client_credentials"}, media_type=FORM), 401)


@pytest.mark.parametrize(
    ("status", "expected"),
    # (the fuzzer may cancel the queued task meanwhile; the active one stays unfinished)
    [("done", 200), ("error", 200), ("cancelled", 200), ("active", 409)],
)
def test_result_replies_are_documented(seeded: Seeded, status: str, expected: int) -> None:
    headers = {"X-API-Key": seeded.key, "Accept": "application/hal+json"}
    case = _operation("/v2.0/tasks/{taskId}/result", "GET").Case(
        path_parameters={"taskId": seeded.by_status[status]}
    )
    response = case.call(headers=headers, app=seeded.app)
    assert response.status_code == expected
    case.validate_response(response, checks=CHECKS, headers=headers)
    if status == "done":
        assert response.json()["result"] == {"answer": [42, "x", None]}


def test_rerun_replies_are_documented(seeded: Seeded) -> None:
    for key, task, expected in (
        (seeded.read_only_key, "error", 403),
        (seeded.key, "active", 409),
        (seeded.key, "error", 201),
    ):
        headers = {"X-API-Key": key, "Accept": "application/json"}
        case = _operation("/new/v2.0/tasks/{taskId}/rerun", "POST").Case(
            path_parameters={"taskId": seeded.by_status[task]}
        )
        response = case.call(headers=headers, app=seeded.app)
        assert response.status_code == expected, response.text
        case.validate_response(response, checks=CHECKS, headers=headers)


@pytest.mark.parametrize("status", ["active", "done", "error", "queued"])
@pytest.mark.parametrize("accept", ["application/hal+json", "application/json", "text/xml"])
def test_attempts_of_seeded_tasks_conform(seeded: Seeded, status: str, accept: str) -> None:
    """Issue 13: a running attempt, ended ones (done, error) and none at all, as documented."""
    headers = {"X-API-Key": seeded.key, "Accept": accept}
    case = _operation("/v2.0/tasks/{taskId}/attempts", "GET").Case(
        path_parameters={"taskId": seeded.by_status[status]}
    )
    response = case.call(headers=headers, app=seeded.app)
    assert response.status_code == 200
    case.validate_response(response, checks=CHECKS, headers=headers)
    if accept != "text/xml":
        expected = {"queued": 0}.get(status, 1)
        assert response.json()["total"] == expected


def test_attempts_as_csv_are_a_documented_406(seeded: Seeded) -> None:
    headers = {"X-API-Key": seeded.key, "Accept": "text/csv"}
    case = _operation("/new/v2.0/tasks/{taskId}/attempts", "GET").Case(
        path_parameters={"taskId": seeded.by_status["done"]}
    )
    response = case.call(headers=headers, app=seeded.app)
    assert response.status_code == 406
    case.validate_response(response, checks=CHECKS, headers=headers)
