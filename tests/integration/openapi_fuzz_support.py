"""What the OpenAPI fuzz test runs against: the document, real servers on a seeded database,
and the steering that points generated requests at the seeded tasks.

The servers are real ``tasktrack serve`` processes over HTTP (tests/integration/conftest.py),
all on one database, which is seeded before they start with an API key and tasks in every
status, so that generated task ids often name a real task (200, 409, 304) rather than always
a missing one (404).
"""

from __future__ import annotations

import contextlib
import itertools
import re
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import orjson
import pytest
import schemathesis
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.parameters import ParameterLocation
from starlette.routing import Route

from tasktrack.api.app import create_app
from tasktrack.api.negotiation import SUPPORTED
from tasktrack.api.openapi import openapi_document
from tasktrack.api.routes.scheduled import position_token
from tasktrack.config import Settings
from tasktrack.domain.identity import Principal
from tasktrack.domain.lifecycle import Status
from tasktrack.domain.listing import SORTABLE, Cursor, parse_sort
from tasktrack.errors import InvalidArgument
from tasktrack.loader import load_registry
from tasktrack.service.identity import IdentityService
from tasktrack.service.tasks import TaskService
from tests import pg
from tests.integration.conftest import API_BACKENDS, Seeder, Server, start_server, stop_server

#: The checks of targeted requests, made without schemathesis' generation metadata (the
#: fuzz runs every check; see test_openapi_fuzz.py).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
REGISTRY = load_registry([])
DOCUMENT: dict[str, Any] = orjson.loads(openapi_document(REGISTRY))
PROJECT = "0123456789abcdef01234567"
PASSWORD = "fuzz-password-1234"
_ID = re.compile(r"[0-9a-f]{24}")
_KEYS = itertools.count()
_RANGE = re.compile(r"\[(-?[0-9]+),(-?[0-9]+)\]")


def template(path: str) -> str:
    """``path`` with every ``{parameter}`` as ``{}``, to compare document and routes."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def _served_paths() -> set[str]:
    app = create_app(Settings(), REGISTRY)  # routes only: no database is opened here
    return {template(route.path) for route in app.routes if isinstance(route, Route)}


SERVED = _served_paths()


def load_schema() -> Any:
    """The document as schemathesis reads it, limited to the operations this build serves."""
    schema = schemathesis.openapi.from_dict(DOCUMENT).exclude(
        path=[path for path in DOCUMENT["paths"] if template(path) not in SERVED]
    )
    # The key is added to every generated request (see steer); the 401s are tested apart.
    schema.config.generation.update(with_security_parameters=False)
    # The event stream lasts a minute: read its first event (`ready`) and hang up.
    schema.config.max_stream_events = 1
    return schema


@dataclass(frozen=True)
class Fixture:
    """What the seed wrote: credentials and task ids in every status."""

    read_only_key: str
    by_status: dict[str, str]


@dataclass
class Seeded:
    """The servers under test and what their database holds."""

    #: The server the generated task requests go to. Its failed-authentication limiter is
    #: off: ignored_auth resends every accepted request with bad credentials, and schemathesis
    #: wants those refused with 401 or 403, not with the limiter's 429 after the 20th
    #: (which test_failed_authentication_is_rate_limited_as_documented covers).
    url: str
    #: Another server for the token endpoint's fuzzing, whose failed grants trip the
    #: failed-authentication limiter: it must not throttle the main one.
    auth_url: str
    key: str
    read_only_key: str
    password: str
    #: queued, cancelled, active, done, error, and one in PROJECT.
    by_status: dict[str, str]
    _start: Any = field(repr=False)
    _limited: dict[int, str] = field(default_factory=dict, repr=False)
    backend: str = "sqlite"

    @property
    def task_ids(self) -> tuple[str, ...]:
        return tuple(self.by_status.values())

    def url_with_limit(self, failures_per_minute: int) -> str:
        """A server on the same database with its own failed-authentication limit
        (``TASKTRACK_AUTH_FAILURES_PER_MINUTE``; 0 = off), started once."""
        if failures_per_minute not in self._limited:
            server = self._start(f"limit{failures_per_minute}", failures_per_minute)
            self._limited[failures_per_minute] = server.base_url
        return self._limited[failures_per_minute]


async def _seed(seeder: Seeder) -> Fixture:
    identity = IdentityService(seeder.stores.identity)
    _, read_only_key = await identity.create_api_key(
        seeder.user_id, read_only=True, label="fuzz-ro"
    )
    await identity.set_password(seeder.user_id, PASSWORD)
    principal = Principal(seeder.user_id, seeder.org_id)
    service = TaskService(seeder.stores.tasks, REGISTRY)
    for _ in range(3):  # claimed below: active, done, error
        await service.create(principal, "demo.sleep", {"seconds": 1, "steps": 2})
    now = time.time()
    tasks = seeder.stores.tasks
    active, done, failed = await tasks.claim("fuzz", ["demo.sleep"], 3, 3600.0, now)
    await tasks.finish(done.id, done.attempts, now, '{"answer":[42,"x",null]}')
    await tasks.fail(failed.id, failed.attempts, "boom", now)
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
    return Fixture(read_only_key, by_status)


@contextlib.contextmanager
def seeded_servers(workdir: Path, backend: str, request: pytest.FixtureRequest) -> Iterator[Seeded]:
    """Seed one database of ``backend`` and serve it; yields once the servers are healthy."""
    with contextlib.ExitStack() as stack:
        db_url = None
        if backend == "postgres":
            template_db = request.getfixturevalue("pg_template")
            db_url = stack.enter_context(contextlib.contextmanager(pg.database_from)(template_db))
        main = start_server(workdir / "main", _seed, _env(0), db_url)
        stack.callback(stop_server, main)

        def start(name: str, failures_per_minute: int) -> Server:
            server = start_server(workdir / name, None, _env(failures_per_minute), main.db_url)
            stack.callback(stop_server, server)
            return server

        fixture: Fixture = main.seeded
        auth = start("auth", 20)
        seeded = Seeded(
            main.base_url,
            auth.base_url,
            main.api_key,
            fixture.read_only_key,
            PASSWORD,
            fixture.by_status,
            start,
        )
        seeded._limited[0] = main.base_url
        seeded.backend = backend
        yield seeded


@pytest.fixture(name="seeded", scope="module", params=API_BACKENDS)
def seeded_fixture(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Seeded]:
    """``seeded``: the servers of a test module, on each database (a module imports this)."""
    with seeded_servers(tmp_path_factory.mktemp("openapi"), request.param, request) as servers:
        yield servers


def _env(failures_per_minute: int) -> dict[str, str]:
    return {
        "TASKTRACK_AUTH_FAILURES_PER_MINUTE": str(failures_per_minute),
        "TASKTRACK_SQLITE_SYNCHRONOUS": "OFF",  # a throwaway database: speed over durability
        # Generated webhook hosts resolve nowhere: without this every create is a 400 (the
        # document says so, in words a generator cannot read); the SSRF check has its tests.
        "TASKTRACK_WEBHOOK_ALLOW_PRIVATE": "1",
    }


# --- steering generated requests ---------------------------------------------------------


def steer(case: schemathesis.Case[Any], seeded: Seeded) -> dict[str, str]:
    """Point part of the generated requests at real tasks; return the headers to send.

    Only *valid* generated values are replaced, and only by other valid values (a real task
    id for a random one, a short ``wait`` for a long one, a server-issued cursor for an opaque
    string), so a case schemathesis generated as valid stays valid and one it generated as
    invalid keeps exactly its invalid part: the data checks (negative_data_rejection,
    positive_data_acceptance) judge what was sent. Deterministic: every choice is a function
    of the generated values themselves.
    """
    _without_framing(case)
    if not _is_negative(case, ParameterLocation.PATH):
        _steer_task_id(case, seeded)
    if not _is_negative(case, ParameterLocation.QUERY):
        if case.path.endswith("/scheduled-tasks"):
            _steer_position(case.query or {})
        else:
            _steer_query(case.query or {})
        if seeded.backend == "postgres":
            _without_nul(case.query or {})
    if not _is_negative(case, ParameterLocation.HEADER):
        _fresh_idempotency_key(case)
    if not _is_negative(case, ParameterLocation.BODY) and isinstance(case.body, dict):
        _steer_run_at(case.body)
        _steer_numbers(case.body)
    headers = {"X-API-Key": seeded.key}
    served = _served_types(case)
    if served and not any(name.lower() == "accept" for name in case.headers or {}):
        # Schemathesis sends an Accept of its own only to probe for a 406 (an invalid one):
        # otherwise each request asks for one of the types the operation serves.
        fingerprint = repr((case.path_parameters, case.query, case.headers, case.body))
        headers["Accept"] = served[zlib.crc32(fingerprint.encode()) % len(served)]
    return headers


#: Headers that frame the HTTP message itself, owned by the HTTP server, not the API.
_FRAMING = frozenset({"content-length", "transfer-encoding", "host", "connection"})


def _without_framing(case: schemathesis.Case[Any]) -> None:
    """Drop generated framing headers: a made-up ``Content-Length: B@#S`` is refused by
    uvicorn's HTTP parser (a plain-text 400) before any application sees it, so it tests
    the HTTP server, not this API's contract (seen once in a full run at stop 21)."""
    for name in [n for n in case.headers or {} if n.lower() in _FRAMING]:
        del case.headers[name]


def _served_types(case: schemathesis.Case[Any]) -> list[str]:
    """The negotiable media types the operation's success documents, in the document's order."""
    # (unsupported_method sends methods the document has not: they get nothing chosen)
    operation = DOCUMENT["paths"][case.operation.path].get(case.method.lower(), {})
    for status, response in operation.get("responses", {}).items():
        if status.startswith("2") and "content" in response:
            return [media for media in response["content"] if media in SUPPORTED]
    return []


def _is_negative(case: schemathesis.Case[Any], location: ParameterLocation) -> bool:
    return case.meta is not None and case.meta.is_negative_at(location)


def _steer_task_id(case: schemathesis.Case[Any], seeded: Seeded) -> None:
    path = case.path_parameters or {}
    task_id = path.get("taskId")
    if isinstance(task_id, str) and _ID.fullmatch(task_id) and int(task_id[:2], 16) < 0xC0:
        ids = _undeletable(seeded) if case.method == "DELETE" else seeded.task_ids
        path["taskId"] = ids[int(task_id[2:4], 16) % len(ids)]


def _undeletable(seeded: Seeded) -> tuple[str, ...]:
    """The seeded task a fuzzed DELETE may aim at (a 409) without removing what the other
    tests read: the active one, which no fuzzed request can finish (a fuzzed cancel makes a
    queued task ``cancelled``, and so deletable, but an active one only ``cancelling``)."""
    return (seeded.by_status["active"],)


def _steer_position(query: dict[str, Any]) -> None:
    """A scheduled-tasks ``next`` is a position the server could have handed out: the
    document types it as an opaque string and says only issued ones are taken."""
    if isinstance(query.get("next"), str):
        query["next"] = position_token(0.0, "0" * 24)


def _steer_run_at(body: dict[str, Any]) -> None:
    """A create's runAt at most 366 days ahead (the document says so; no schema can, the
    bound moves with the clock): one further ahead becomes one in the past (meaning now)."""
    run_at = body.get("runAt")
    ahead = time.time() + 300 * 86400
    if isinstance(run_at, int | float) and not isinstance(run_at, bool) and run_at > ahead:
        body["runAt"] = 0
    if isinstance(run_at, str) and _timestamp(run_at) > ahead:
        body["runAt"] = "2000-01-01T00:00:00Z"


def _timestamp(text: str) -> float:
    try:
        return datetime.fromisoformat(text).timestamp()
    except (ValueError, OverflowError):
        return 0.0  # not one the server reads either: left as generated


def _steer_numbers(body: dict[str, Any]) -> None:
    """Numbers as the server reads them. JSON Schema counts ``67.0`` as an integer, the
    server's ``priority`` wants ``67`` (the same value to the schema); and the JSON parser
    takes integers of 64 bits at most (RFC 8259 §6 lets it; a 400 says so), so larger ones
    become the nearest it takes, which every schema's bounds here also allow."""
    priority = body.get("priority")
    if isinstance(priority, float) and priority.is_integer():
        body["priority"] = int(priority)
    for key, value in body.items():
        body[key] = _bounded(value)


def _bounded(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _bounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_bounded(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return max(-(2**63), min(value, 2**63 - 1))
    return value


def _without_nul(query: dict[str, Any]) -> None:
    """PostgreSQL text cannot hold NUL: a filter value with one is a 400 there (the
    document's 400 says so) and a plain miss on SQLite. "0" keeps every pattern's match."""
    for name, value in query.items():
        if isinstance(value, str) and "\x00" in value:
            query[name] = value.replace("\x00", "0")


def _fresh_idempotency_key(case: schemathesis.Case[Any]) -> None:
    """Each generated create gets a key of its own. Generation repeats values, and the same
    key with another body is the documented 422 (test_api_dedup covers it), which the data
    checks would read as a valid request refused. The key stays valid: a prefix of the
    generated one's length, so a key at the length limit stays at it."""
    headers = case.headers or {}
    for name, value in headers.items():
        if name.lower() == "idempotency-key" and isinstance(value, str) and value:
            serial = f"k{next(_KEYS)}-"
            headers[name] = (serial + value)[: max(len(value), len(serial))]


def _steer_query(query: dict[str, Any]) -> None:
    """Valid values that only the server's clock or another value can rule out, made valid:
    each sort field once, a range's bounds in order, a resume point (``since``) in the past."""
    sort = query.get("sort")
    if isinstance(sort, str):  # the pattern cannot say "each field once"; the document does
        fields: dict[str, str] = {}
        for key in sort.split(","):
            fields.setdefault(key.split(":")[0], key)
        query["sort"] = ",".join(fields.values())
    _steer_cursors(query)
    for name, value in query.items():
        bounds = _RANGE.fullmatch(value) if isinstance(value, str) else None
        if bounds is not None and int(bounds[1]) > int(bounds[2]):
            query[name] = f"[{bounds[2]},{bounds[1]}]"
    since = query.get("since")
    if isinstance(since, str) and since.isdigit() and int(since) > time.time() - 60:
        query["since"] = "0"  # the document: a future `since` is a 400
    project = query.get("projectId")
    if isinstance(project, str) and _ID.fullmatch(project) and project[0] in "01234567":
        query["projectId"] = PROJECT
    wait = query.get("wait")
    if isinstance(wait, int | float) and not isinstance(wait, bool) and wait > 0.05:
        query["wait"] = 0.05  # documented up to 60 s; a long poll would only slow the run
    if isinstance(wait, str) and wait.replace(".", "", 1).isdigit() and float(wait) > 0.05:
        query["wait"] = "0.05"  # the same, for the coverage phase's values sent as text


def _steer_cursors(query: dict[str, Any]) -> None:
    """A valid list query's cursor is one the server could have issued for the query's sort.

    The document types ``next`` and ``previous`` as opaque strings and says, in the 400's
    description, what no schema can: they exclude each other and ``skip``, and only cursors
    the server issued, for the same sort, are accepted.
    """
    if "next" in query and "previous" in query:
        del query["previous"]
    for direction in ("next", "previous"):
        if direction in query:
            cursor = _issued_cursor(direction, query.get("sort"))
            if cursor is not None:
                query[direction] = cursor
                query.pop("skip", None)


def _issued_cursor(direction: Literal["next", "previous"], sort: object) -> str | None:
    try:
        keys = parse_sort(sort if isinstance(sort, str) else None)
    except InvalidArgument:
        return None  # not a sort the server takes after all: leave the query as generated
    start = {"str": "", "int": 0, "time": 0}
    return Cursor(direction, keys, tuple(start[SORTABLE[k.field]] for k in keys)).encode()
