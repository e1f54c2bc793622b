"""The error matrix over HTTP: every error is an RFC 7807 problem with the contract's code.

Each case checks the status, ``code``, the problem's members and media type, that ``detail``
names the problem, and (through the server's log) that nothing was an unhandled 500.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tasktrack.domain.lifecycle import Status
from tasktrack.service.identity import IdentityService
from tasktrack.storage.base import Stores

if TYPE_CHECKING:
    from tests.integration.conftest import Seeder, Server, StartServer

PROBLEM_MEMBERS = ["type", "title", "status", "detail", "instance", "code", "traceId", "details"]
UNKNOWN_ID = "0123456789abcdef01234567"
SEED_NAME = "tests.errors.seeded"  # registered nowhere: no worker runs it


async def _seed(s: Seeder) -> dict[str, str]:
    mine = s.task(SEED_NAME)
    theirs = s.task(SEED_NAME, org_id=s.other_org)
    await s.add([mine, theirs])
    identity = IdentityService(s.stores.identity)
    _, read_only_key = await identity.create_api_key(s.user_id, read_only=True)
    return {"mine": mine.id, "theirs": theirs.id, "read_only_key": read_only_key}


@pytest.fixture(scope="module")
def srv(module_server_factory: StartServer) -> Server:
    # The 401 matrix fails authentication far more often than the failed-auth limiter allows
    # one address per minute; it is turned off here and tested on a server of its own below.
    return module_server_factory(seed=_seed, env={"TASKTRACK_AUTH_FAILURES_PER_MINUTE": "0"})


@pytest.fixture(scope="module")
def client(srv: Server) -> Iterator[httpx.Client]:
    with srv.client(headers={"Accept": "application/json"}) as c:
        yield c


@pytest.fixture(scope="module")
def anonymous(srv: Server) -> Iterator[httpx.Client]:
    """A client that sends no credentials of its own."""
    with srv.client(auth=False, headers={"Accept": "application/json"}) as c:
        yield c


@pytest.fixture(autouse=True)
def no_unhandled_errors(srv: Server, check_server_log: Callable[[Server], None]) -> None:
    """Fail a test during which the server logged an unhandled error (a 500)."""
    check_server_log(srv)


def assert_problem(response: httpx.Response, status: int, code: int, *words: str) -> dict[str, Any]:
    """``response`` is the contract's problem+json with ``status``/``code``; ``detail`` names
    the problem (contains each of ``words``, case-insensitively)."""
    request = f"{response.request.method} {response.request.url}"
    assert response.status_code != 500, f"{request}: 500 {response.text}"
    assert response.status_code == status, f"{request}: {response.status_code} {response.text}"
    assert response.headers["content-type"].split(";")[0] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert list(body) == PROBLEM_MEMBERS, list(body)
    assert body["type"] == "about:blank"
    assert isinstance(body["title"], str) and body["title"]
    assert body["status"] == status
    assert body["code"] == code, f"{request}: code {body['code']}, expected {code}"
    assert body["instance"] == response.request.url.path
    assert isinstance(body["traceId"], str) and body["traceId"]
    assert isinstance(body["details"], dict)
    detail = body["detail"]
    assert isinstance(detail, str) and detail
    for word in words:
        assert word.lower() in detail.lower(), f"{request}: detail {detail!r} lacks {word!r}"
    assert "Traceback" not in detail
    return body


def create(client: httpx.Client, body: Any = None, **kwargs: Any) -> httpx.Response:
    if body is not None:
        kwargs["content"] = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/v2.0/tasks", headers={"Content-Type": "application/json"}, **kwargs)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64(token: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


# --- ids -----------------------------------------------------------------------------------

BAD_IDS = [
    ("too-short", "0123456789abcdef0123456"),
    ("too-long", "0123456789abcdef012345678"),
    ("not-hex", "0123456789abcdef0123456z"),
    ("uppercase", "0123456789ABCDEF01234567"),
    ("non-ascii", "é" * 24),
    ("spaces", "0123456789abcdef 1234567"),
    ("empty-ish", "-"),
]


@pytest.mark.parametrize("task_id", [b[1] for b in BAD_IDS], ids=[b[0] for b in BAD_IDS])
@pytest.mark.parametrize("prefix", ["/v2.0", "/new/v2.0"])
def test_a_malformed_id_is_a_400(client: httpx.Client, prefix: str, task_id: str) -> None:
    assert_problem(client.get(f"{prefix}/tasks/{task_id}"), 400, 1005, "taskId")
    assert_problem(client.post(f"{prefix}/tasks/{task_id}/cancel"), 400, 1005, "taskId")


@pytest.mark.parametrize("prefix", ["/v2.0", "/new/v2.0"])
def test_a_well_formed_unknown_id_is_a_404(client: httpx.Client, prefix: str) -> None:
    body = assert_problem(client.get(f"{prefix}/tasks/{UNKNOWN_ID}"), 404, 1002, UNKNOWN_ID)
    assert body["instance"] == f"{prefix}/tasks/{UNKNOWN_ID}"
    assert_problem(client.post(f"{prefix}/tasks/{UNKNOWN_ID}/cancel"), 404, 1002, UNKNOWN_ID)


def test_another_organisations_task_is_a_404(srv: Server, client: httpx.Client) -> None:
    theirs = srv.seeded["theirs"]
    assert_problem(client.get(f"/v2.0/tasks/{theirs}"), 404, 1002, theirs)
    assert_problem(client.post(f"/v2.0/tasks/{theirs}/cancel"), 404, 1002, theirs)
    mine = srv.seeded["mine"]
    assert client.get(f"/v2.0/tasks/{mine}").status_code == 200


# --- list parameters -----------------------------------------------------------------------

LIST_ERRORS: list[tuple[str, dict[str, str], list[str]]] = [
    ("unknown-sort-field", {"sort": "colour:asc"}, ["colour"]),
    ("unknown-sort-field-data", {"sort": "data:asc"}, ["data"]),
    ("bad-sort-direction", {"sort": "name:up"}, ["up"]),
    ("sort-field-twice", {"sort": "name:asc,name:desc"}, ["name"]),
    ("id-not-last", {"sort": "_id:asc,name:asc"}, ["_id"]),
    ("unknown-filter-field", {"colour": "red"}, ["colour"]),
    ("data-is-not-filterable", {"data": "x"}, ["data"]),
    ("unknown-status", {"status": "sleeping"}, ["sleeping"]),
    ("empty-alternative", {"status": "queued,"}, ["status"]),
    ("range-on-a-string", {"name": "[1,2]"}, ["name"]),
    ("empty-range", {"createdAt": "[5,1]"}, ["createdAt"]),
    ("range-not-ints", {"createdAt": "[a,b]"}, ["createdAt"]),
    ("range-unclosed", {"createdAt": "[1,2"}, ["createdAt"]),
    ("range-three", {"createdAt": "[1,2,3]"}, ["createdAt"]),
    ("int-filter-not-int", {"currentStep": "two"}, ["currentStep"]),
    ("int-filter-huge", {"createdAt": "9" * 30}, ["createdAt"]),
    ("limit-0", {"limit": "0"}, ["limit"]),
    ("limit-101", {"limit": "101"}, ["limit"]),
    ("limit-abc", {"limit": "abc"}, ["limit"]),
    ("limit-negative", {"limit": "-1"}, ["limit"]),
    ("limit-float", {"limit": "2.5"}, ["limit"]),
    ("skip-negative", {"skip": "-1"}, ["skip"]),
    ("skip-abc", {"skip": "abc"}, ["skip"]),
    ("projectId-malformed", {"projectId": "XYZ"}, ["projectId"]),
    ("filter-too-long", {"filter": "x" * 201}, ["filter"]),
    ("next-random", {"next": "not a cursor at all"}, ["cursor"]),
    ("next-random-base64", {"next": b64(b"\x00\xff garbage")}, ["cursor"]),
    ("previous-random", {"previous": "AAAA"}, ["cursor"]),
    ("next-empty", {"next": ""}, ["cursor"]),
    ("next-too-long", {"next": "A" * 5000}, ["cursor"]),
    ("cursor-json-not-object", {"next": b64(b"[1,2]")}, ["cursor"]),
    ("cursor-json-null", {"next": b64(b"null")}, ["cursor"]),
]


@pytest.mark.parametrize(
    ("params", "words"), [e[1:] for e in LIST_ERRORS], ids=[e[0] for e in LIST_ERRORS]
)
def test_bad_list_parameters_are_a_400(
    client: httpx.Client, params: dict[str, str], words: list[str]
) -> None:
    assert_problem(client.get("/v2.0/tasks", params=params), 400, 1005, *words)


@pytest.fixture(scope="module")
def cursors(srv: Server, client: httpx.Client) -> dict[str, str]:
    """Real cursors of a walk over a few created tasks."""
    for _ in range(3):
        assert create(client, {"name": "demo.sleep", "data": {"seconds": 1}}).status_code == 201
    first = client.get("/v2.0/tasks", params={"limit": 1, "sort": "createdAt:desc"}).json()
    second = client.get("/v2.0/tasks", params={"limit": 1, "next": first["nextCursor"]}).json()
    assert first["nextCursor"] and second["previousCursor"]
    return {"next": first["nextCursor"], "previous": second["previousCursor"]}


def _tampered(cursor: str, **changes: Any) -> str:
    payload = unb64(cursor)
    payload.update(changes)
    return b64(json.dumps(payload).encode())


TAMPERINGS: list[tuple[str, dict[str, Any]]] = [
    ("direction-swapped", {"d": "p"}),
    ("direction-unknown", {"d": "x"}),
    ("sort-unknown-field", {"s": ["colour:asc", "_id:asc"]}),
    ("sort-bad-direction", {"s": ["createdAt:sideways", "_id:asc"]}),
    ("sort-not-a-list", {"s": "createdAt:desc"}),
    ("sort-without-id", {"s": ["createdAt:desc"], "v": [1]}),
    ("values-too-few", {"v": [1]}),
    ("values-too-many", {"v": [1, "a", 3]}),
    ("values-wrong-types", {"v": ["yesterday", 5]}),
    ("values-not-a-list", {"v": "x"}),
    ("values-bool", {"v": [True, "0123456789abcdef01234567"]}),
    ("values-null", {"v": [None, "0123456789abcdef01234567"]}),
]


@pytest.mark.parametrize("changes", [t[1] for t in TAMPERINGS], ids=[t[0] for t in TAMPERINGS])
def test_a_tampered_cursor_is_a_400(
    client: httpx.Client, cursors: dict[str, str], changes: dict[str, Any]
) -> None:
    token = _tampered(cursors["next"], **changes)
    assert_problem(client.get("/v2.0/tasks", params={"next": token}), 400, 1005, "cursor")


@pytest.mark.parametrize(
    "values",
    [[10**30, "0123456789abcdef01234567"], [-(10**30), "0123456789abcdef01234567"]],
    ids=["huge", "huge-negative"],
)
def test_a_cursor_with_out_of_range_numbers_is_a_400(
    client: httpx.Client, cursors: dict[str, str], values: list[Any]
) -> None:
    """Integers SQLite cannot hold must be refused as a malformed cursor, never reach the DB."""
    token = _tampered(cursors["next"], v=values)
    assert_problem(client.get("/v2.0/tasks", params={"next": token}), 400, 1005, "cursor")


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_a_cursor_with_non_finite_numbers_is_a_400(
    client: httpx.Client, cursors: dict[str, str], value: str
) -> None:
    payload = unb64(cursors["next"])
    raw = json.dumps({**payload, "v": ["__N__", payload["v"][-1]]}).replace('"__N__"', value)
    token = b64(raw.encode())
    assert_problem(client.get("/v2.0/tasks", params={"next": token}), 400, 1005, "cursor")


def test_a_truncated_cursor_is_a_400(client: httpx.Client, cursors: dict[str, str]) -> None:
    for cursor in cursors.values():
        for cut in (1, 2, 5, len(cursor) // 2):
            name = "next" if unb64(cursor)["d"] == "n" else "previous"
            response = client.get("/v2.0/tasks", params={name: cursor[:-cut]})
            assert_problem(response, 400, 1005, "cursor")


def test_a_cursor_of_one_direction_is_refused_for_the_other(
    client: httpx.Client, cursors: dict[str, str]
) -> None:
    response = client.get("/v2.0/tasks", params={"previous": cursors["next"]})
    assert_problem(response, 400, 1005, "cursor")
    response = client.get("/v2.0/tasks", params={"next": cursors["previous"]})
    assert_problem(response, 400, 1005, "cursor")


def test_next_and_previous_together_is_a_400(client: httpx.Client, cursors: dict[str, str]) -> None:
    response = client.get("/v2.0/tasks", params=cursors)
    assert_problem(response, 400, 1005, "next", "previous")


def test_a_cursor_with_skip_or_another_sort_is_a_400(
    client: httpx.Client, cursors: dict[str, str]
) -> None:
    response = client.get("/v2.0/tasks", params={"next": cursors["next"], "skip": "3"})
    assert_problem(response, 400, 1005, "skip")
    response = client.get("/v2.0/tasks", params={"next": cursors["next"], "sort": "name:asc"})
    assert_problem(response, 400, 1005, "sort")


def test_real_cursors_work(client: httpx.Client, cursors: dict[str, str]) -> None:
    for name, cursor in cursors.items():
        assert client.get("/v2.0/tasks", params={name: cursor}).status_code == 200


# --- create bodies -------------------------------------------------------------------------


def _nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


BODY_ERRORS: list[tuple[str, Any, int, list[str]]] = [
    ("not-json", b"{name: demo.sleep}", 1005, ["JSON"]),
    ("truncated-json", b'{"name": "demo.sleep", "data": {', 1005, ["JSON"]),
    ("empty", b"", 1005, ["empty"]),
    ("whitespace", b"  \n ", 1005, ["empty"]),
    ("not-utf8", b'{"name": "\xff\xfe"}', 1005, ["JSON"]),
    ("lone-surrogate", b'{"name": "demo.sleep", "data": {"x": "\\ud800"}}', 1005, []),
    ("deeply-nested-json", b"[" * 100_000 + b"]" * 100_000, 1005, []),
    ("array", [{"name": "demo.sleep"}], 1005, ["object"]),
    ("string", "demo.sleep", 1005, ["object"]),
    ("number", 42, 1005, ["object"]),
    ("null", b"null", 1005, ["object"]),
    ("data-array", {"name": "demo.sleep", "data": [1, 2]}, 1005, ["data"]),
    ("data-string", {"name": "demo.sleep", "data": "x"}, 1005, ["data"]),
    ("data-number", {"name": "demo.sleep", "data": 1}, 1005, ["data"]),
    ("data-33-levels", {"name": "demo.sleep", "data": _nested(33)}, 1005, ["data", "32"]),
    (
        "data-over-64KiB",
        {"name": "demo.sleep", "data": {"blob": "x" * (64 * 1024)}},
        1005,
        ["data", "65536"],
    ),
    ("unknown-name", {"name": "no.such.task", "data": {}}, 1005, ["no.such.task"]),
    ("missing-name", {"data": {}}, 1000, ["name"]),
    ("null-name", {"name": None}, 1000, ["name"]),
    ("empty-name", {"name": ""}, 1005, ["name"]),
    ("name-not-string", {"name": 7}, 1005, ["name"]),
    ("status", {"name": "demo.sleep", "status": "done"}, 1005, ["status"]),
    ("_id", {"name": "demo.sleep", "_id": UNKNOWN_ID}, 1005, ["_id"]),
    ("createdBy", {"name": "demo.sleep", "createdBy": "1" * 24}, 1005, ["createdBy"]),
    ("currentStep", {"name": "demo.sleep", "currentStep": 3}, 1005, ["currentStep"]),
    ("createdAt", {"name": "demo.sleep", "createdAt": 1}, 1005, ["createdAt"]),
    ("unknown-field", {"name": "demo.sleep", "colour": "red"}, 1005, ["colour"]),
    ("projectId-malformed", {"name": "demo.sleep", "projectId": "XYZ"}, 1005, ["projectId"]),
    ("projectId-not-string", {"name": "demo.sleep", "projectId": 5}, 1005, ["projectId"]),
    ("handler-validation", {"name": "demo.sleep", "data": {"steps": 0}}, 1005, ["steps"]),
]


@pytest.mark.parametrize(
    ("body", "code", "words"), [e[1:] for e in BODY_ERRORS], ids=[e[0] for e in BODY_ERRORS]
)
def test_bad_create_bodies_are_a_400(
    client: httpx.Client, body: Any, code: int, words: list[str]
) -> None:
    before = client.get("/v2.0/tasks", params={"limit": 1}).json()["total"]
    assert_problem(create(client, body), 400, code, *words)
    assert client.get("/v2.0/tasks", params={"limit": 1}).json()["total"] == before


def test_data_at_the_limits_is_accepted(client: httpx.Client) -> None:
    deep = create(client, {"name": "demo.sleep", "data": _nested(32)})
    assert deep.status_code == 201, deep.text
    blob = "x" * (64 * 1024 - len('{"blob":""}'))
    big = create(client, {"name": "demo.sleep", "data": {"blob": blob}})
    assert big.status_code == 201, big.text


def test_a_body_over_the_limit_is_a_413(client: httpx.Client) -> None:
    body = {"name": "demo.sleep", "data": {"blob": "x" * (300 * 1024)}}
    assert_problem(create(client, body), 413, 413, "large")


def test_a_chunked_body_over_the_limit_is_a_413(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "demo.sleep", "data": {"blob": "'
        for _ in range(40):
            yield b"x" * 10_000
        yield b'"}}'

    response = client.post(
        "/v2.0/tasks", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_problem(response, 413, 413, "large")


# --- routes and credentials ----------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/v2.0/nothing", "/v3.0/tasks", "/new/v2.0/tasks/x/y/z", "/nope", "/v2.0/task"]
)
def test_an_unknown_route_is_a_404_problem(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].split(";")[0] == "application/problem+json"
    body = response.json()
    assert list(body) == PROBLEM_MEMBERS
    assert body["status"] == 404 and body["instance"] == path


def test_a_wrong_method_is_a_405_problem(client: httpx.Client) -> None:
    # (DELETE is served since issue 13's retention; PUT and PATCH never are.)
    response = client.put(f"/v2.0/tasks/{UNKNOWN_ID}", json={})
    assert response.status_code == 405, response.text
    assert client.patch(f"/v2.0/tasks/{UNKNOWN_ID}/cancel", json={}).status_code == 405
    assert response.headers["content-type"].split(";")[0] == "application/problem+json"
    assert response.json()["status"] == 405


AUTH_CASES: list[tuple[str, dict[str, str], dict[str, str]]] = [
    ("none", {}, {}),
    ("wrong-key", {"X-API-Key": "tt_0123456789abcdef01234567_" + "A" * 43}, {}),
    ("malformed-key", {"X-API-Key": "letmein"}, {}),
    ("empty-key", {"X-API-Key": ""}, {}),
    ("wrong-query-key", {}, {"api_key": "nope"}),
    ("bearer", {"Authorization": "Bearer some.jwt.token"}, {}),
    ("basic", {"Authorization": "Basic dXNlcjpwYXNz"}, {}),
]


@pytest.mark.parametrize(
    ("headers", "params"), [a[1:] for a in AUTH_CASES], ids=[a[0] for a in AUTH_CASES]
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2.0/tasks"),
        ("GET", f"/v2.0/tasks/{UNKNOWN_ID}"),
        ("GET", "/new/v2.0/tasks/not-an-id"),
        ("POST", "/v2.0/tasks"),
        ("POST", f"/new/v2.0/tasks/{UNKNOWN_ID}/cancel"),
    ],
)
def test_missing_or_wrong_credentials_are_a_401(
    anonymous: httpx.Client,
    method: str,
    path: str,
    headers: dict[str, str],
    params: dict[str, str],
) -> None:
    response = anonymous.request(
        method, path, headers=headers, params=params, json={"name": "demo.sleep"}
    )
    assert_problem(response, 401, 401)
    assert "www-authenticate" in response.headers


def test_a_read_only_key_may_read_but_not_write(srv: Server) -> None:
    key = srv.seeded["read_only_key"]
    with srv.client(auth=False, headers={"X-API-Key": key, "Accept": "application/json"}) as c:
        assert c.get("/v2.0/tasks", params={"limit": 1}).status_code == 200
        assert c.get(f"/v2.0/tasks/{srv.seeded['mine']}").status_code == 200
        assert_problem(c.post("/v2.0/tasks", json={"name": "demo.sleep"}), 403, 403, "read-only")
        response = c.post(f"/v2.0/tasks/{srv.seeded['mine']}/cancel")
        assert_problem(response, 403, 403, "read-only")


def test_a_problem_carries_the_callers_trace_id(client: httpx.Client) -> None:
    response = client.get(f"/v2.0/tasks/{UNKNOWN_ID}", headers={"X-Trace-Id": "trace-1234abcd"})
    body = assert_problem(response, 404, 1002)
    assert body["traceId"] == "trace-1234abcd" == response.headers["x-trace-id"]


def test_the_key_works_as_a_query_parameter(srv: Server, anonymous: httpx.Client) -> None:
    response = anonymous.get("/v2.0/tasks", params={"api_key": srv.api_key, "limit": 1})
    assert response.status_code == 200, response.text
    assert srv.api_key not in srv.log(), "the key must never be written to the log"


# --- cancel --------------------------------------------------------------------------------


def _ended(srv: Server, outcome: str) -> str:
    """A task of a unique name driven to ``outcome`` (done or error) by writing through the
    storage API to the server's SQLite file while it serves, the way a worker would."""
    name = f"tests.errors.{outcome}.{len(srv.log())}"

    async def drive(stores: Stores) -> str:
        from tasktrack.domain.ids import new_id
        from tasktrack.domain.task import Task

        now = 1_700_000_000.0
        task = Task(
            id=new_id(now),
            name=name,
            data={},
            status=Status.QUEUED,
            org_id=srv.org_id,
            created_by=srv.user_id,
            created_at=int(now),
            last_changed=int(now),
            last_changed_by=srv.user_id,
            total_step=2,
        )
        await stores.tasks.create(task)
        (claimed,) = await stores.tasks.claim("test-worker", [name], 1, 3600.0, now + 1)
        if outcome == "done":
            await stores.tasks.finish(claimed.id, claimed.attempts, now + 2)
        else:
            await stores.tasks.fail(claimed.id, claimed.attempts, "it broke", now + 2)
        return claimed.id

    task_id: str = srv.write(drive)
    return task_id


@pytest.mark.parametrize("outcome", ["done", "error"])
def test_cancelling_an_ended_task_is_a_409(srv: Server, client: httpx.Client, outcome: str) -> None:
    task_id = _ended(srv, outcome)
    assert client.get(f"/v2.0/tasks/{task_id}").json()["status"] == outcome
    response = client.post(f"/v2.0/tasks/{task_id}/cancel")
    assert_problem(response, 409, 1004, outcome)
    assert client.get(f"/v2.0/tasks/{task_id}").json()["status"] == outcome


def test_cancelling_twice_is_fine(srv: Server, client: httpx.Client) -> None:
    created = create(client, {"name": "demo.sleep", "data": {"seconds": 60}})
    assert created.status_code == 201, created.text
    task_id = created.json()["_id"]
    first = client.post(f"/v2.0/tasks/{task_id}/cancel")
    assert first.status_code == 200, first.text
    # Queued -> cancelled at once; running (if a worker got there first) -> cancelling.
    assert first.json()["status"] in ("cancelled", "cancelling")
    second = client.post(f"/new/v2.0/tasks/{task_id}/cancel")
    assert second.status_code == 200, second.text
    assert second.json()["status"] in ("cancelled", "cancelling")
    assert second.json()["lastChangedBy"] == srv.user_id


def test_cancelling_a_seeded_queued_task(srv: Server, client: httpx.Client) -> None:
    mine = srv.seeded["mine"]
    response = client.post(f"/v2.0/tasks/{mine}/cancel")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["lastFinishedAt"] is not None
    again = client.post(f"/v2.0/tasks/{mine}/cancel")
    assert again.status_code == 200 and again.json() == body


def test_repeated_failed_authentication_is_a_429_with_retry_after(
    server_factory: StartServer, check_server_log: Callable[[Server], None]
) -> None:
    limited = server_factory(env={"TASKTRACK_AUTH_FAILURES_PER_MINUTE": "5"})
    check_server_log(limited)
    wrong = {"X-API-Key": "tt_0123456789abcdef01234567_" + "A" * 43, "Accept": "application/json"}
    with limited.client(auth=False, headers=wrong) as c:
        statuses = [c.get("/v2.0/tasks").status_code for _ in range(5)]
        assert statuses == [401] * 5
        response = c.get("/v2.0/tasks")
    assert_problem(response, 429, 429)
    assert int(response.headers["retry-after"]) >= 1
