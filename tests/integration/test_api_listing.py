"""``GET /tasks`` over HTTP against 1,000 seeded tasks: cursors, sorts, filters, totals, skip.

The tasks are written through the storage API before the server starts: varied names (mixed
case, ``%`` and ``_``, non-ASCII), every status, many ties on ``createdAt``, two projects, and
some tasks of another organisation that must never show. Running tasks are made the way a
worker makes them (``claim`` with a float clock, then ``finish``/``fail``/cancel), so their
``lastRunAt``/``lastFinishedAt`` carry the sub-microsecond precision of ``time.time()``.

Every walk is checked three ways: each matching task is visited exactly once, in the requested
order (checked against the stored values, not the server's), and the forward cursor walk, the
backward walk from the last page and offset (``skip``) paging all agree.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tasktrack.domain.lifecycle import Status
from tasktrack.domain.task import Task

if TYPE_CHECKING:
    from tests.integration.conftest import Seeder, Server, StartServer

N = 1000
BASE = 1_690_000_000
NAMES = (
    "Export.Package",
    "export.flow",
    "reExport.thing",
    "import.Snapshot",
    "IMPORT.users",
    "report-daily",
    "Report-Weekly",
    "sync_users",
    "sync-Users",
    "100%_done",
    "50% off",
    "under_score",
    "plain",
    "Ünïcode.Täsk",
)
P1, P2 = "a1" * 12, "b2" * 12
#: Far in the future: a seeded task not meant to be claimed is never runnable.
NEVER = 4_000_000_000.0
#: Leases that outlive any test run, so a reaper (if one ran) leaves running tasks alone.
LEASE = 10 * 365 * 86_400.0


@dataclass
class Seeded:
    """The tasks of the API key's organisation as stored, by id."""

    tasks: dict[str, Task]
    user_id: str
    other_org_ids: frozenset[str]


async def _seed(s: Seeder) -> Seeded:
    store = s.stores.tasks
    records: list[Task] = []
    to_claim: list[Task] = []
    direct = (Status.QUEUED, Status.QUEUED, Status.CANCELLED, Status.ERROR, Status.DONE)
    for i in range(N):
        created = BASE + (i * 7919) % 600  # 600 distinct values for 1,000 tasks: many ties
        total = i % 9
        project = P1 if i % 10 == 0 else P2 if i % 10 == 1 else None
        common: dict[str, Any] = {
            "data": {"i": i},
            "created_at": created,
            "last_changed": created + i % 13,
            "total_step": total,
            "project_id": project,
        }
        name = NAMES[(i * 31) % len(NAMES)]
        if i % 7 == 3:  # made running by a claim below, like a worker would
            task = s.task(name, **common)
            to_claim.append(task)
            records.append(task.evolve(run_after=float(i)))
            continue
        status = direct[i % len(direct)]
        ran = status in (Status.ERROR, Status.DONE)
        task = s.task(
            name,
            status=status,
            current_step=total if status is Status.DONE else min(i % 4, total),
            fail_reason=f'failed, "{i}"\nagain' if status is Status.ERROR else "",
            last_run_at=s.utc(created + 5 + (i % 3) * 0.5) if ran else None,
            last_finished_at=s.utc(created + 9) if status is not Status.QUEUED else None,
            **common,
        )
        records.append(task.evolve(run_after=NEVER))
    others = [s.task(NAMES[i % len(NAMES)], org_id=s.other_org) for i in range(50)]
    await s.add([*records, *(t.evolve(run_after=NEVER, project_id=P1) for t in others)])
    # Claim in batches of 10 at one float instant each (ties on lastRunAt), then move them on.
    claimed: list[Task] = []
    for batch in range(math.ceil(len(to_claim) / 10)):
        now = BASE + 700 + batch + 0.1234567
        claimed += await store.claim("seed-worker", NAMES, 10, LEASE, now)
    assert len(claimed) == len(to_claim)
    for k, task in enumerate(claimed):
        now = BASE + 800 + k // 4 + 0.7654321
        if task.total_step and k % 2:
            await store.record_progress(task.id, task.attempts, 1, task.total_step, now)
        if k % 5 == 0:
            await store.finish(task.id, task.attempts, now)
        elif k % 5 == 1:
            await store.fail(task.id, task.attempts, f"boom {k}", now)
        elif k % 5 == 2:
            await store.request_cancel(task.id, s.scope(), s.user_id, now)  # -> cancelling
    stored = {}
    for task in records:
        got = await store.get(task.id)
        assert got is not None
        stored[got.id] = got
    statuses = {t.status for t in stored.values()}
    assert statuses == set(Status), statuses
    return Seeded(stored, s.user_id, frozenset(t.id for t in others))


@pytest.fixture(scope="module")
def srv(module_server_factory: StartServer) -> Server:
    return module_server_factory(seed=_seed)


@pytest.fixture(scope="module")
def client(srv: Server) -> Any:
    with srv.client(headers={"Accept": "application/json"}) as c:
        yield c


def truth(srv: Server) -> dict[str, Task]:
    seeded: Seeded = srv.seeded
    return seeded.tasks


# --- walking -------------------------------------------------------------------------------


def get_page(client: httpx.Client, url: str, params: Any = None) -> Any:
    response = client.get(url, params=params)
    assert response.status_code == 200, f"GET {response.request.url}: {response.text}"
    return response.json()


def _check_no_repeats(pages: list[list[str]], how: str) -> list[str]:
    seen: dict[str, int] = {}
    for number, page in enumerate(pages):
        for task_id in page:
            assert task_id not in seen, (
                f"{how}: task {task_id} visited on page {seen[task_id]} and again on page {number}"
            )
            seen[task_id] = number
    return [task_id for page in pages for task_id in page]


def walk_forward(
    client: httpx.Client, params: dict[str, Any], total: int
) -> tuple[list[list[str]], Any]:
    """Follow nextCursor from the first page; returns the pages' ids and the last page."""
    limit = int(params.get("limit", 25))
    max_pages = math.ceil(total / limit) + 2
    body = get_page(client, "/v2.0/tasks", params)
    assert body["previousCursor"] is None, "the first page has no previous page"
    pages = [[item["_id"] for item in body["items"]]]
    while body["nextCursor"] is not None:
        assert len(pages) <= max_pages, f"walk did not end after {len(pages)} pages"
        assert body["total"] == total
        body = get_page(client, "/v2.0/tasks", {**params, "next": body["nextCursor"]})
        pages.append([item["_id"] for item in body["items"]])
        _check_no_repeats(pages, f"forward walk {params}")
    assert body["total"] == total
    return pages, body


def walk_backward(
    client: httpx.Client, params: dict[str, Any], last: Any, total: int
) -> list[list[str]]:
    """Follow previousCursor from ``last``; returns the pages' ids in display order."""
    limit = int(params.get("limit", 25))
    max_pages = math.ceil(total / limit) + 2
    pages = [[item["_id"] for item in last["items"]]]
    body = last
    while body["previousCursor"] is not None:
        assert len(pages) <= max_pages, f"backward walk did not end after {len(pages)} pages"
        body = get_page(client, "/v2.0/tasks", {**params, "previous": body["previousCursor"]})
        assert body["total"] == total
        assert body["nextCursor"] is not None, "a page reached backwards has a next page"
        pages.insert(0, [item["_id"] for item in body["items"]])
        _check_no_repeats(pages, f"backward walk {params}")
    return pages


def walk_skip(client: httpx.Client, params: dict[str, Any], total: int) -> list[str]:
    limit = int(params.get("limit", 25))
    ids: list[str] = []
    for skip in range(0, total + 1, limit):
        body = get_page(client, "/v2.0/tasks", {**params, "skip": skip})
        assert body["total"] == total
        ids += [item["_id"] for item in body["items"]]
    return ids


def _value(task: Task, field: str) -> Any:
    def stamp(value: Any) -> float | None:
        return None if value is None else value.timestamp()

    return {
        "createdAt": task.created_at,
        "lastChanged": task.last_changed,
        "name": task.name,
        "status": task.status.value,
        "currentStep": task.current_step,
        "totalStep": task.total_step,
        "lastRunAt": stamp(task.last_run_at),
        "lastFinishedAt": stamp(task.last_finished_at),
        "_id": task.id,
    }[field]


def assert_in_order(ids: list[str], tasks: dict[str, Task], sort: str) -> None:
    """Adjacent tasks are ordered by the requested keys (null before any date)."""
    keys = [part.split(":") for part in sort.split(",")]
    for a, b in itertools.pairwise(ids):
        for field, direction in keys:
            va, vb = _value(tasks[a], field), _value(tasks[b], field)
            if va == vb:
                continue
            if va is None or vb is None:
                ordered = (va is None) == (direction == "asc")
            else:
                ordered = va < vb if direction == "asc" else va > vb
            assert ordered, f"sort {sort}: {a} ({field}={va!r}) before {b} ({field}={vb!r})"
            break


Predicate = Callable[[Task], bool]


def matching(srv: Server, predicate: Predicate | None = None) -> set[str]:
    return {i for i, t in truth(srv).items() if predicate is None or predicate(t)}


def check_walks(
    client: httpx.Client, srv: Server, params: dict[str, Any], expected: set[str], sort: str
) -> None:
    """Forward, backward and skip walks visit ``expected`` exactly once, in ``sort`` order."""
    total = len(expected)
    pages, last = walk_forward(client, params, total)
    forward = _check_no_repeats(pages, "forward")
    assert len(forward) == total
    assert set(forward) == expected
    assert_in_order(forward, truth(srv), sort)
    limit = int(params.get("limit", 25))
    assert all(len(page) == limit for page in pages[:-1])
    backward = walk_backward(client, params, last, total)
    assert _check_no_repeats(backward, "backward") == forward, "backward walk differs"
    assert walk_skip(client, params, total) == forward, "skip paging differs from the cursor walk"


# --- sorts ---------------------------------------------------------------------------------

SORTS = [
    ("createdAt:desc", 37),
    ("createdAt:asc", 100),
    ("name:asc", 41),
    ("name:desc", 100),
    ("status:asc", 64),
    ("status:desc", 100),
    ("_id:asc", 100),
    ("_id:desc", 99),
    ("currentStep:desc", 100),
    ("currentStep:asc", 53),
    ("totalStep:asc", 100),
    ("totalStep:desc", 47),
    ("lastChanged:desc", 100),
    ("lastChanged:asc", 31),
    ("createdAt:desc,name:asc", 29),
    ("name:asc,createdAt:desc", 100),
    ("status:desc,createdAt:asc", 100),
    ("totalStep:asc,currentStep:desc,name:asc", 77),
]
TIME_SORTS = [
    ("lastRunAt:asc", 7),
    ("lastRunAt:desc", 7),
    ("lastFinishedAt:asc", 9),
    ("lastFinishedAt:desc", 9),
    ("status:asc,lastRunAt:desc", 11),
]


@pytest.mark.parametrize(("sort", "limit"), SORTS)
def test_walks_visit_every_task_once_in_order(
    srv: Server, client: httpx.Client, sort: str, limit: int
) -> None:
    check_walks(client, srv, {"sort": sort, "limit": limit}, matching(srv), sort)


@pytest.mark.parametrize(("sort", "limit"), TIME_SORTS)
def test_walks_by_run_and_finish_times_visit_every_task_once(
    srv: Server, client: httpx.Client, sort: str, limit: int
) -> None:
    """lastRunAt/lastFinishedAt hold float seconds written by claim/finish (as a worker does)."""
    check_walks(client, srv, {"sort": sort, "limit": limit}, matching(srv), sort)


def test_default_sort_is_newest_first(srv: Server, client: httpx.Client) -> None:
    body = get_page(client, "/v2.0/tasks")
    assert len(body["items"]) == 25
    assert body["total"] == N
    ids = [item["_id"] for item in body["items"]]
    assert_in_order(ids, truth(srv), "createdAt:desc")
    newest = max(t.created_at for t in truth(srv).values())
    assert body["items"][0]["createdAt"] == newest
    check_walks(client, srv, {"limit": 100}, matching(srv), "createdAt:desc")


def test_limit_bounds(client: httpx.Client) -> None:
    assert len(get_page(client, "/v2.0/tasks", {"limit": 1})["items"]) == 1
    assert len(get_page(client, "/v2.0/tasks", {"limit": 100})["items"]) == 100


# --- totals and filters ----------------------------------------------------------------------


def test_total_counts_every_match_not_the_page(srv: Server, client: httpx.Client) -> None:
    body = get_page(client, "/v2.0/tasks", {"limit": 5})
    assert body["total"] == N
    assert len(body["items"]) == 5
    ids = {i for page in walk_forward(client, {"limit": 100}, N)[0] for i in page}
    assert not ids & srv.seeded.other_org_ids


FILTERS: list[tuple[str, dict[str, Any], Predicate]] = [
    (
        "status-alternatives",
        {"status": "queued,active"},
        lambda t: t.status in ("queued", "active"),
    ),
    ("status-one", {"status": "cancelling"}, lambda t: t.status == "cancelling"),
    (
        "status-terminal",
        {"status": "done,error,cancelled"},
        lambda t: t.status in ("done", "error", "cancelled"),
    ),
    (
        "name-alternatives",
        {"name": "plain,sync_users"},
        lambda t: t.name in ("plain", "sync_users"),
    ),
    ("name-unicode", {"name": "Ünïcode.Täsk"}, lambda t: t.name == "Ünïcode.Täsk"),
    ("name-percent", {"name": "100%_done"}, lambda t: t.name == "100%_done"),
    (
        "createdAt-range",
        {"createdAt": f"[{BASE + 100},{BASE + 299}]"},
        lambda t: BASE + 100 <= t.created_at <= BASE + 299,
    ),
    (
        "createdAt-alternatives",
        {"createdAt": f"{BASE},{BASE + 7},{BASE + 599}"},
        lambda t: t.created_at in (BASE, BASE + 7, BASE + 599),
    ),
    ("currentStep-range", {"currentStep": "[1,3]"}, lambda t: 1 <= t.current_step <= 3),
    ("totalStep-zero", {"totalStep": "0"}, lambda t: t.total_step == 0),
    (
        "lastChanged-range",
        {"lastChanged": f"[{BASE + 500},{BASE + 2000}]"},
        lambda t: BASE + 500 <= t.last_changed <= BASE + 2000,
    ),
    ("text-export", {"filter": "EXPORT"}, lambda t: "export" in t.name.lower()),
    ("text-percent", {"filter": "%"}, lambda t: "%" in t.name),
    ("text-underscore", {"filter": "_"}, lambda t: "_" in t.name),
    ("text-percent-underscore", {"filter": "%_"}, lambda t: "%_" in t.name),
    ("text-dot", {"filter": "t.s"}, lambda t: "t.s" in t.name.lower()),
    ("text-nothing", {"filter": "no such name"}, lambda t: False),
    (
        "combined",
        {"status": "done,queued", "filter": "port", "createdAt": f"[{BASE},{BASE + 400}]"},
        lambda t: (
            t.status in ("done", "queued")
            and "port" in t.name.lower()
            and t.created_at <= BASE + 400
        ),
    ),
    ("project-1", {"projectId": P1}, lambda t: t.project_id == P1),
    (
        "project-2-filtered",
        {"projectId": P2, "status": "queued"},
        lambda t: t.project_id == P2 and t.status == "queued",
    ),
    ("project-unknown", {"projectId": "c3" * 12}, lambda t: False),
]


@pytest.mark.parametrize(
    ("params", "predicate"), [f[1:] for f in FILTERS], ids=[f[0] for f in FILTERS]
)
def test_filters_select_exactly_the_matches(
    srv: Server, client: httpx.Client, params: dict[str, Any], predicate: Predicate
) -> None:
    expected = matching(srv, predicate)
    body = get_page(client, "/v2.0/tasks", {**params, "limit": 3})
    assert body["total"] == len(expected), f"{params}: total"
    if not expected:
        assert body["items"] == [] and body["nextCursor"] is None
        assert body["previousCursor"] is None
        return
    sort = "name:asc,createdAt:desc"
    check_walks(client, srv, {**params, "sort": sort, "limit": 17}, expected, sort)


def test_text_filter_is_case_insensitive_beyond_ascii(srv: Server, client: httpx.Client) -> None:
    """``filter`` is a case-insensitive substring match; "ünï" must find "Ünïcode.Täsk"."""
    expected = matching(srv, lambda t: "ünïcode" in t.name.lower())
    assert expected
    body = get_page(client, "/v2.0/tasks", {"filter": "ünïcode", "limit": 100})
    assert body["total"] == len(expected)
    assert {item["_id"] for item in body["items"]} == expected


def test_repeated_field_parameters_are_alternatives(srv: Server, client: httpx.Client) -> None:
    joined = get_page(client, "/v2.0/tasks", {"status": "queued,error", "limit": 1})
    repeated = get_page(client, "/v2.0/tasks", [("status", "queued"), ("status", "error")])
    expected = matching(srv, lambda t: t.status in ("queued", "error"))
    assert joined["total"] == repeated["total"] == len(expected)


def test_id_and_user_filters(srv: Server, client: httpx.Client) -> None:
    some = sorted(truth(srv))[:3]
    body = get_page(client, "/v2.0/tasks", {"_id": ",".join(some), "sort": "_id:asc"})
    assert [item["_id"] for item in body["items"]] == some
    mine = get_page(client, "/v2.0/tasks", {"createdBy": srv.user_id, "limit": 1})
    assert mine["total"] == N
    other = get_page(client, "/v2.0/tasks", {"createdBy": "0e" * 12, "limit": 1})
    assert other["total"] == 0


def test_project_scope_applies_to_reads_too(srv: Server, client: httpx.Client) -> None:
    task = next(t for t in truth(srv).values() if t.project_id == P1)
    assert client.get(f"/v2.0/tasks/{task.id}", params={"projectId": P1}).status_code == 200
    wrong = client.get(f"/v2.0/tasks/{task.id}", params={"projectId": P2})
    assert wrong.status_code == 404
    assert wrong.json()["code"] == 1002
    assert client.get(f"/v2.0/tasks/{task.id}").status_code == 200  # no scope: the org


# --- skip ----------------------------------------------------------------------------------


def test_skip_is_an_offset_into_the_same_order(srv: Server, client: httpx.Client) -> None:
    everything = walk_skip(client, {"limit": 100, "sort": "name:asc"}, N)
    page = get_page(client, "/v2.0/tasks", {"limit": 10, "skip": 995, "sort": "name:asc"})
    assert [i["_id"] for i in page["items"]] == everything[995:]
    assert page["total"] == N
    assert page["nextCursor"] is None
    assert page["previousCursor"] is not None
    middle = get_page(client, "/v2.0/tasks", {"limit": 10, "skip": 500, "sort": "name:asc"})
    assert [i["_id"] for i in middle["items"]] == everything[500:510]
    after = get_page(client, "/v2.0/tasks", {"limit": 10, "next": middle["nextCursor"]})
    assert [i["_id"] for i in after["items"]] == everything[510:520]
    before = get_page(client, "/v2.0/tasks", {"limit": 10, "previous": middle["previousCursor"]})
    assert [i["_id"] for i in before["items"]] == everything[490:500]
    past = get_page(client, "/v2.0/tasks", {"limit": 10, "skip": N})
    assert past["items"] == [] and past["total"] == N and past["nextCursor"] is None
    zero = get_page(client, "/v2.0/tasks", {"limit": 10, "skip": 0})
    assert zero == get_page(client, "/v2.0/tasks", {"limit": 10})


# --- HAL links -----------------------------------------------------------------------------


def test_hal_next_and_previous_links_work_when_followed_verbatim(
    srv: Server, client: httpx.Client
) -> None:
    params: dict[str, Any] = {
        "limit": 45,
        "sort": "createdAt:desc,name:asc",
        "status": "queued,done,error",
    }
    expected = matching(srv, lambda t: t.status in ("queued", "done", "error"))
    forward, _ = walk_forward(client, params, len(expected))
    hal = {"Accept": "application/hal+json"}
    for prefix in ("/v2.0", "/new/v2.0"):
        body = client.get(f"{prefix}/tasks", params=params, headers=hal).json()
        assert "previous" not in body["_links"]
        pages = [[i["_id"] for i in body["items"]]]
        while "next" in body["_links"]:
            href = body["_links"]["next"]["href"]
            assert href.startswith(f"{prefix}/tasks?")
            assert len(pages) <= len(forward) + 1
            response = client.get(href, headers=hal)
            assert response.status_code == 200, f"{href}: {response.text}"
            body = response.json()
            assert body["_links"]["self"]["href"] == href
            pages.append([i["_id"] for i in body["items"]])
        assert pages == forward
        back = [[i["_id"] for i in body["items"]]]
        while "previous" in body["_links"]:
            href = body["_links"]["previous"]["href"]
            assert href.startswith(f"{prefix}/tasks?")
            assert len(back) <= len(forward) + 1
            response = client.get(href, headers=hal)
            assert response.status_code == 200, f"{href}: {response.text}"
            body = response.json()
            back.insert(0, [i["_id"] for i in body["items"]])
        assert [i for p in back for i in p] == [i for p in forward for i in p]


# --- a walk while tasks are being created and changed ----------------------------------------


async def _seed_small(s: Seeder) -> list[str]:
    tasks = [s.task(NAMES[i % 3], created_at=BASE + i // 3) for i in range(200)]
    await s.add(tasks)
    return [t.id for t in tasks]


@pytest.mark.parametrize("sort", ["createdAt:desc", "createdAt:asc", "_id:asc"])
def test_a_walk_visits_each_task_once_while_tasks_are_created(
    server_factory: StartServer, sort: str
) -> None:
    srv = server_factory(seed=_seed_small)
    seeded: list[str] = srv.seeded
    with srv.client(headers={"Accept": "application/json"}) as c:
        params: dict[str, Any] = {"sort": sort, "limit": 9}
        body = get_page(c, "/v2.0/tasks", params)
        pages = [[i["_id"] for i in body["items"]]]
        created: list[str] = []
        while body["nextCursor"] is not None:
            assert len(pages) < 60
            new = c.post("/v2.0/tasks", json={"name": "demo.sleep", "data": {"seconds": 9}})
            assert new.status_code == 201, new.text
            created.append(new.json()["_id"])
            cancelled = c.post(f"/v2.0/tasks/{seeded[len(pages) * 3]}/cancel")
            assert cancelled.status_code == 200, cancelled.text
            body = get_page(c, "/v2.0/tasks", {**params, "next": body["nextCursor"]})
            pages.append([i["_id"] for i in body["items"]])
        visited = _check_no_repeats(pages, f"walk {sort} during writes")
    assert set(seeded) <= set(visited)
    assert set(visited) <= set(seeded) | set(created)
