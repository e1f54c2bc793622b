"""Every representation of a task (and of a list) says the same thing as the JSON, over HTTP.

Tasks with awkward ``data`` are seeded into the server's database under a name no worker runs,
read in all five media types under both prefixes, decoded (XML with defusedxml, CSV with the
csv module) and compared field by field with ``application/json``: the same 13 fields, in the
seed's order, with the seed's types.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET  # type: ignore[import-untyped]
import httpx
import pytest

from tasktrack.domain.lifecycle import Status
from tasktrack.domain.task import Task

if TYPE_CHECKING:
    from tests.integration.conftest import Seeder, Server, StartServer

# The seed's field order (shared/seed/get-a-task.txt), written out rather than imported.
FIELDS = (
    "name",
    "data",
    "status",
    "currentStep",
    "totalStep",
    "failReason",
    "lastRunAt",
    "lastFinishedAt",
    "_id",
    "createdAt",
    "lastChanged",
    "createdBy",
    "lastChangedBy",
)
INT_FIELDS = frozenset({"currentStep", "totalStep", "createdAt", "lastChanged"})
DATE_FIELDS = frozenset({"lastRunAt", "lastFinishedAt"})
STATUSES = frozenset({"queued", "active", "done", "cancelling", "cancelled", "error"})
RFC3339_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z\Z")
HEX24 = re.compile(r"[0-9a-f]{24}\Z")
PREFIXES = ("/v2.0", "/new/v2.0")
SEED_NAME = "tests.repr.awkward"  # registered nowhere: no worker ever runs it

#: Accept header (None: no header) -> the media type it must be served as.
MEDIA = {
    None: "application/hal+json",
    "application/json": "application/json",
    "application/hal+json": "application/hal+json",
    "application/xml": "application/xml",
    "text/xml": "text/xml",
    "text/csv": "text/csv",
}


def _deep(levels: int) -> dict[str, Any]:
    """``{"d": {"d": ... {"leaf": true}}}``, ``levels`` objects deep counting the outermost."""
    value: dict[str, Any] = {"leaf": True}
    for _ in range(levels - 1):
        value = {"d": value}
    return value


AWKWARD: dict[str, Any] = {
    "plain": "text",
    "nested": {"a": {"b": {"c": [1, 2, {"d": None}]}}},
    "array": [1, 2.5, -3, True, False, None, "x", [], {}, [[1], [2, [3]]]],
    "unicode": "héllo wörld — 漢字 😀 \u2028 \u00a0 𝄞",
    "ключ": "a Cyrillic key is an XML name",
    "漢字": "so is a CJK key",
    "😀": "an emoji key is not",
    "1starts-with-digit": 1,
    "has space": "x",
    "": "the empty key",
    "xmlReserved": "keys starting with xml are reserved",
    "XMLupper": "in any case",
    "ns:colon": "a colon needs a namespace",
    "a&b<c>\"'": "markup in a key",
    "tab\tkey": "whitespace in a key",
    "ctl\x01key": "a control character in a key",
    "-dash": 0,
    ".dot": 0,
    "item": "an element name the XML shape uses itself",
    "member": {"name": "and another"},
    "csv": 'a,b,"c"\nnext line\r\nCRLF line\rCR only',
    "quotes": "\"double\" and 'single'",
    "formula": "=SUM(A1:A2)",
    "markup": '<tag attr="v">&amp;</tag> ]]> <!-- -->',
    "control": "tab\there bell\x07 nul\x00 esc\x1b del\x7f",
    "backslash": "C:\\path\\u0041 \\\\",
    "null": None,
    "empty": "",
    "spaces": "  leading and trailing  ",
    "emptyObject": {},
    "emptyArray": [],
    "true": True,
    "false": False,
    "float": 0.1,
    "exp": 1e-7,
    "negative": -42,
    "bigint": 9007199254740993,
    "arrayOfObjects": [{"k": 1}, {"k": None}, {"": [None]}],
    "deep": _deep(20),
}


# --- decoding and comparing ----------------------------------------------------------------


def media_type(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0].strip().lower()


def assert_same_json(actual: Any, expected: Any, where: str = "") -> None:
    """Equal values with equal types (1 is not 1.0 is not True) and equal key order."""
    assert type(actual) is type(expected), f"{where}: {actual!r} is not like {expected!r}"
    if isinstance(expected, dict):
        assert list(actual) == list(expected), f"{where}: keys {list(actual)} != {list(expected)}"
        for key in expected:
            assert_same_json(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), f"{where}: {actual!r} != {expected!r}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same_json(a, e, f"{where}[{i}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def assert_task_types(task: dict[str, Any]) -> None:
    """The seed's 13 fields, in order, with the seed's types."""
    assert list(task) == list(FIELDS), f"fields/order: {list(task)}"
    assert isinstance(task["name"], str) and task["name"]
    assert isinstance(task["data"], dict)
    assert task["status"] in STATUSES
    for name in INT_FIELDS:
        assert type(task[name]) is int, f"{name} is {task[name]!r}"
    assert 0 <= task["currentStep"] <= task["totalStep"]
    for name in ("createdAt", "lastChanged"):
        assert 0 <= task[name] <= 2147483647
    assert task["lastChanged"] >= task["createdAt"]
    assert isinstance(task["failReason"], str)
    for name in DATE_FIELDS:
        value = task[name]
        assert value is None or (isinstance(value, str) and RFC3339_Z.match(value)), (name, value)
    assert isinstance(task["_id"], str) and HEX24.match(task["_id"]), task["_id"]
    for name in ("createdBy", "lastChangedBy"):
        assert isinstance(task[name], str) and len(task[name]) == 24, (name, task[name])


_ESCAPE = re.compile(r"\\(\\|u[0-9a-f]{4})")


def _unescape(text: str, escaped: bool) -> str:
    """Undo the renderer's ``\\uXXXX`` scheme on values marked ``escaped="true"``."""
    if not escaped:
        return text
    return _ESCAPE.sub(lambda m: "\\" if m.group(1) == "\\" else chr(int(m.group(1)[1:], 16)), text)


def assert_xml_value(elem: Element, expected: Any, where: str) -> None:
    """``elem`` carries ``expected`` in the contract's XML shape (types taken from ``expected``)."""
    attrs = {k: v for k, v in elem.attrib.items() if k not in ("name", "nameEscaped")}
    text = elem.text or ""
    if expected is None:
        assert attrs == {"nil": "true"} and len(elem) == 0 and not text, f"{where}: not nil"
        return
    assert "nil" not in attrs, f"{where}: nil but expected {expected!r}"
    if isinstance(expected, dict):
        assert not attrs, f"{where}: attributes {attrs}"
        children = list(elem)
        keys = [_member_key(child) for child in children]
        assert keys == list(expected), f"{where}: members {keys} != {list(expected)}"
        for child, (key, value) in zip(children, expected.items(), strict=True):
            assert_xml_value(child, value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert not attrs, f"{where}: attributes {attrs}"
        children = list(elem)
        assert [c.tag for c in children] == ["item"] * len(expected), f"{where}: {children}"
        for i, (child, value) in enumerate(zip(children, expected, strict=True)):
            assert_xml_value(child, value, f"{where}[{i}]")
    else:
        assert len(elem) == 0, f"{where}: unexpected children"
        if isinstance(expected, bool):
            assert not attrs and text == ("true" if expected else "false"), f"{where}: {text!r}"
        elif isinstance(expected, int):
            assert not attrs and int(text) == expected, f"{where}: {text!r} != {expected!r}"
        elif isinstance(expected, float):
            assert not attrs and float(text) == expected, f"{where}: {text!r} != {expected!r}"
        else:
            assert set(attrs) <= {"escaped"}, f"{where}: attributes {attrs}"
            value = _unescape(text, attrs.get("escaped") == "true")
            assert value == expected, f"{where}: {value!r} != {expected!r}"


def _member_key(child: Element) -> str:
    if child.tag == "member" and "name" in child.attrib:
        return _unescape(child.attrib["name"], child.attrib.get("nameEscaped") == "true")
    return str(child.tag)


def assert_xml_task(elem: Element, expected: dict[str, Any]) -> None:
    assert elem.tag == "task"
    assert [c.tag for c in elem] == list(FIELDS), [c.tag for c in elem]
    for child, (name, value) in zip(elem, expected.items(), strict=True):
        assert_xml_value(child, value, name)


def csv_rows(response: httpx.Response) -> list[dict[str, Any]]:
    """The CSV body as typed task dicts (ints parsed, data JSON-decoded, empty dates None)."""
    body = response.content.decode("utf-8")
    assert body.endswith("\r\n"), "RFC 4180 rows end in CRLF"
    rows = list(csv.reader(io.StringIO(body, newline="")))
    assert rows and tuple(rows[0]) == FIELDS, rows[:1]
    tasks = []
    for row in rows[1:]:
        assert len(row) == len(FIELDS), row
        task: dict[str, Any] = {}
        for name, cell in zip(FIELDS, row, strict=True):
            if name in INT_FIELDS:
                assert re.fullmatch(r"-?\d+", cell), (name, cell)
                task[name] = int(cell)
            elif name == "data":
                task[name] = json.loads(cell)
            elif name in DATE_FIELDS:
                task[name] = cell or None
            else:
                task[name] = cell
        tasks.append(task)
    return tasks


def decode_task(response: httpx.Response, reference: dict[str, Any], prefix: str) -> None:
    """Check one task's body in whatever type it was served against the JSON ``reference``."""
    served = media_type(response)
    if served == "application/json":
        assert_same_json(response.json(), reference, "task")
        assert list(response.json()) == list(FIELDS)
    elif served == "application/hal+json":
        body = response.json()
        assert list(body) == [*FIELDS, "_links"], list(body)
        links = body.pop("_links")
        assert links == {"self": {"href": f"{prefix}/tasks/{reference['_id']}"}}
        assert_same_json(body, reference, "task")
    elif served in ("application/xml", "text/xml"):
        assert_xml_task(SafeET.fromstring(response.content), reference)
    elif served == "text/csv":
        rows = csv_rows(response)
        assert len(rows) == 1
        assert_same_json(rows[0], reference, "task")
    else:
        raise AssertionError(f"unexpected media type {served}")


def expected_fields(task: Task) -> dict[str, Any]:
    """What the API must show for a stored task, computed here independently."""

    def date(value: Any) -> str | None:
        return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")

    return {
        "name": task.name,
        "data": task.data,
        "status": task.status.value,
        "currentStep": task.current_step,
        "totalStep": task.total_step,
        "failReason": task.fail_reason,
        "lastRunAt": date(task.last_run_at),
        "lastFinishedAt": date(task.last_finished_at),
        "_id": task.id,
        "createdAt": task.created_at,
        "lastChanged": task.last_changed,
        "createdBy": task.created_by,
        "lastChangedBy": task.last_changed_by,
    }


# --- the server ----------------------------------------------------------------------------


async def _seed(s: Seeder) -> list[Task]:
    utc = s.utc
    base = 1_700_000_000
    tasks = [
        s.task(SEED_NAME, data=AWKWARD, created_at=base, total_step=3),
        s.task(
            SEED_NAME,
            data={"k": "v", "n": [1, None]},
            status=Status.DONE,
            created_at=base + 1,
            current_step=5,
            total_step=5,
            last_run_at=utc(base + 100.25),
            last_finished_at=utc(base + 200.75),
            last_changed=base + 200,
        ),
        s.task(
            SEED_NAME,
            data={"why": None},
            status=Status.ERROR,
            created_at=base + 2,
            current_step=1,
            total_step=4,
            # \x1f, not \x00: a failReason never holds NUL (the worker escapes it, and
            # PostgreSQL text cannot store it); any other control character can occur.
            fail_reason='boom, "quoted"\nsecond line\r\n<xml & such>\x1f',
            last_run_at=utc(base + 10),
            last_finished_at=utc(base + 11),
            last_changed=base + 11,
        ),
        s.task(
            SEED_NAME,
            status=Status.CANCELLED,
            created_at=base + 3,
            last_finished_at=utc(base + 4),
            last_changed=base + 4,
        ),
        s.task(
            SEED_NAME,
            data={"list": [[], [{}], "x"]},
            status=Status.ACTIVE,
            created_at=base + 4,
            current_step=2,
            total_step=7,
            last_run_at=utc(base + 5),
            last_changed=base + 6,
        ),
        s.task(SEED_NAME, data=_deep(32), created_at=base + 5, project_id="ab" * 12),
        s.task(SEED_NAME, data={"blob": 'x,"y"\n' * 10_000}, created_at=base + 6),
        s.task('tests.repr.ünïcödé name, with "quotes"', created_at=2147483647),
    ]
    others = [s.task(SEED_NAME, org_id=s.other_org, created_at=base + i) for i in range(3)]
    await s.add([*tasks, *others])
    return tasks


@pytest.fixture(scope="module")
def srv(module_server_factory: StartServer) -> Server:
    return module_server_factory(seed=_seed)


@pytest.fixture(scope="module")
def client(srv: Server) -> Any:
    with srv.client() as c:
        yield c


def seeded(srv: Server) -> list[Task]:
    tasks: list[Task] = srv.seeded
    return tasks


TASK_INDEXES = list(range(8))


# --- one task ------------------------------------------------------------------------------


@pytest.mark.parametrize("index", TASK_INDEXES)
def test_json_shows_the_stored_task_with_the_seeds_fields_order_and_types(
    srv: Server, client: httpx.Client, index: int
) -> None:
    task = seeded(srv)[index]
    response = client.get(f"/v2.0/tasks/{task.id}", headers={"Accept": "application/json"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert_task_types(body)
    assert_same_json(body, expected_fields(task), "task")


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("accept", list(MEDIA), ids=lambda a: str(a))
@pytest.mark.parametrize("index", TASK_INDEXES)
def test_every_media_type_says_what_the_json_says(
    srv: Server, client: httpx.Client, index: int, accept: str | None, prefix: str
) -> None:
    task = seeded(srv)[index]
    url = f"{prefix}/tasks/{task.id}"
    reference = client.get(url, headers={"Accept": "application/json"}).json()
    response = srv.request(client, "GET", url, accept)
    assert response.status_code == 200, response.text
    assert media_type(response) == MEDIA[accept]
    decode_task(response, reference, prefix)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_hal_self_link_points_at_the_task_under_the_prefix_used(
    srv: Server, client: httpx.Client, prefix: str
) -> None:
    task = seeded(srv)[0]
    body = client.get(f"{prefix}/tasks/{task.id}").json()
    href = body["_links"]["self"]["href"]
    assert href == f"{prefix}/tasks/{task.id}"
    again = client.get(href)  # followed verbatim, relative to the server
    assert again.status_code == 200
    assert again.json() == body


# --- creating tasks with awkward data --------------------------------------------------------


def _create_body() -> dict[str, Any]:
    # demo.sleep takes any extra keys; a long sleep keeps a worker (if one ran) from finishing.
    return {"name": "demo.sleep", "data": {"seconds": 86_400, "steps": 3, **AWKWARD}}


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("accept", list(MEDIA), ids=lambda a: str(a))
def test_create_answers_in_the_negotiated_type(
    srv: Server, client: httpx.Client, accept: str | None, prefix: str
) -> None:
    body = _create_body()
    response = srv.request(client, "POST", f"{prefix}/tasks", accept, json=body)
    assert response.status_code == 201, response.text
    assert media_type(response) == MEDIA[accept]
    location = response.headers["location"]
    assert location.startswith(f"{prefix}/tasks/")
    task_id = location.rsplit("/", 1)[1]
    assert HEX24.match(task_id)
    created_at = int(task_id[:8], 16)  # ObjectId layout: the id starts with its creation time
    expected = {
        "name": "demo.sleep",
        "data": body["data"],
        "status": "queued",
        "currentStep": 0,
        "totalStep": 3,
        "failReason": "",
        "lastRunAt": None,
        "lastFinishedAt": None,
        "_id": task_id,
        "createdAt": created_at,
        "lastChanged": created_at,
        "createdBy": srv.user_id,
        "lastChangedBy": srv.user_id,
    }
    assert_task_types(expected)
    decode_task(response, expected, prefix)


def test_awkward_data_reads_back_exactly_as_created(srv: Server, client: httpx.Client) -> None:
    body = _create_body()
    created = client.post("/new/v2.0/tasks", json=body, headers={"Accept": "application/json"})
    assert created.status_code == 201, created.text
    assert_task_types(created.json())
    assert_same_json(created.json()["data"], body["data"], "data")
    read = client.get(f"/v2.0/tasks/{created.json()['_id']}", headers={"Accept": "text/csv"})
    assert_same_json(csv_rows(read)[0]["data"], body["data"], "data")


# --- negotiation ---------------------------------------------------------------------------

NEGOTIATED = [
    ("application/json;q=0.5, text/csv", "text/csv"),
    ("text/csv;q=0.1, application/xml;q=0.9", "application/xml"),
    ("text/xml;q=0.3, application/json;q=0.2", "text/xml"),
    ("application/json, */*;q=0.1", "application/json"),
    ("application/json;q=0, */*", "application/hal+json"),
    ("*/*", "application/hal+json"),
    ("application/*", "application/hal+json"),
    ("image/png, text/csv;q=0.01", "text/csv"),
    ("TEXT/CSV", "text/csv"),
    ("application/xml; charset=utf-8", "application/xml"),
]


@pytest.mark.parametrize(("accept", "served"), NEGOTIATED)
def test_quality_values_are_honoured(
    srv: Server, client: httpx.Client, accept: str, served: str
) -> None:
    task = seeded(srv)[1]
    response = client.get(f"/v2.0/tasks/{task.id}", headers={"Accept": accept})
    assert response.status_code == 200, response.text
    assert media_type(response) == served
    listed = client.get("/v2.0/tasks", params={"limit": 2}, headers={"Accept": accept})
    assert listed.status_code == 200, listed.text
    assert media_type(listed) == served


UNACCEPTABLE = [
    "image/png",
    "text/html, application/pdf",
    "application/json;q=0",
    "*/*;q=0",
    "text/plain",
    "application/problem+json",
]


@pytest.mark.parametrize("accept", UNACCEPTABLE)
@pytest.mark.parametrize("route", ["one", "list", "create", "cancel"])
def test_unacceptable_types_are_a_406_problem(
    srv: Server, client: httpx.Client, accept: str, route: str
) -> None:
    task = seeded(srv)[1]  # done: cancelling it would be a 409 if negotiation came second
    headers = {"Accept": accept}
    if route == "one":
        response = client.get(f"/v2.0/tasks/{task.id}", headers=headers)
    elif route == "list":
        response = client.get("/v2.0/tasks", headers=headers)
    elif route == "create":
        response = client.post("/v2.0/tasks", json=_create_body(), headers=headers)
    else:
        response = client.post(f"/v2.0/tasks/{task.id}/cancel", headers=headers)
    assert response.status_code == 406, response.text
    assert media_type(response) == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 406 and problem["code"] == 406
    assert "media type" in problem["detail"]


# --- lists ---------------------------------------------------------------------------------


def _list(
    srv: Server, client: httpx.Client, url: str, accept: str | None, **params: Any
) -> httpx.Response:
    response = srv.request(client, "GET", url, accept, params=params)
    assert response.status_code == 200, response.text
    return response


def _next_cursor(response: httpx.Response) -> str | None:
    """The next cursor as each representation carries it."""
    served = media_type(response)
    if served in ("application/json", "application/hal+json"):
        cursor: str | None = response.json()["nextCursor"]
        return cursor
    if served in ("application/xml", "text/xml"):
        elem = SafeET.fromstring(response.content).find("nextCursor")
        assert elem is not None
        if elem.get("nil") == "true":
            return None
        text: str | None = elem.text
        return text
    header: str | None = response.headers.get("x-next-cursor")
    return header


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("accept", list(MEDIA), ids=lambda a: str(a))
def test_a_list_says_what_the_json_list_says_in_every_media_type(
    srv: Server, client: httpx.Client, accept: str | None, prefix: str
) -> None:
    url = f"{prefix}/tasks"
    params = {"name": SEED_NAME, "sort": "createdAt:asc", "limit": 3}
    for page in range(3):  # 7 tasks: pages of 3, 3, 1, each via the cursor of this type
        reference = _list(srv, client, url, "application/json", **params).json()
        assert list(reference) == ["items", "total", "nextCursor", "previousCursor"]
        assert reference["total"] == 7
        for item in reference["items"]:
            assert_task_types(item)
        response = _list(srv, client, url, accept, **params)
        assert media_type(response) == MEDIA[accept]
        assert response.headers["x-total-count"] == "7"
        served = media_type(response)
        if served == "application/json":
            assert_same_json(response.json(), reference, "list")
        elif served == "application/hal+json":
            body = response.json()
            assert list(body) == ["items", "total", "nextCursor", "previousCursor", "_links"]
            links = body.pop("_links")
            assert links["self"]["href"].startswith(f"{url}?")
            assert ("next" in links) == (reference["nextCursor"] is not None)
            assert ("previous" in links) == (reference["previousCursor"] is not None)
            for item in body["items"]:
                assert item.pop("_links") == {"self": {"href": f"{url}/{item['_id']}"}}
            assert_same_json(body, reference, "list")
        elif served in ("application/xml", "text/xml"):
            root = SafeET.fromstring(response.content)
            assert root.tag == "tasks"
            assert [c.tag for c in root] == ["items", "total", "nextCursor", "previousCursor"]
            items = root.find("items")
            assert items is not None
            assert [c.tag for c in items] == ["task"] * len(reference["items"])
            for elem, item in zip(items, reference["items"], strict=True):
                assert_xml_task(elem, item)
            for name in ("total", "nextCursor", "previousCursor"):
                child = root.find(name)
                assert child is not None
                assert_xml_value(child, reference[name], name)
        else:
            rows = csv_rows(response)
            assert_same_json(rows, reference["items"], "rows")
            for header, name in (
                ("x-next-cursor", "nextCursor"),
                ("x-previous-cursor", "previousCursor"),
            ):
                assert response.headers.get(header) == reference[name]
        cursor = _next_cursor(response)
        assert cursor == reference["nextCursor"]
        if page == 2:
            assert cursor is None
            break
        assert cursor is not None
        params = {**params, "next": cursor}


def test_other_organisations_tasks_never_show(srv: Server, client: httpx.Client) -> None:
    listed = client.get("/v2.0/tasks", params={"limit": 100}).json()
    assert listed["total"] == len(listed["items"])
    assert all(item["createdBy"] == srv.user_id for item in listed["items"])
