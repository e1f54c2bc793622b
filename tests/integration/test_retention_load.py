"""Retention under load: 100,000 finished tasks are pruned by a running server's worker while
that worker drains new tasks and the API serves, and nothing stalls.

The server is the real ``tasktrack serve`` (API and worker in one process, the worker's
pruner among its monitor loops). The finished tasks (each with an attempt row, so the cascade
does real work) are bulk-inserted straight into its database after it started, already past
retention; its next sweep (``TASKTRACK_PRUNE_INTERVAL=1``) deletes them in batches of 200 (the
default). Meanwhile two client threads measure every API request (creates and reads) and every new
task's end-to-end time (created -> done, which includes its claim). Stated bound: no API
request over :data:`REQUEST_BOUND` and no task over :data:`TASK_BOUND` while pruning runs
(generous for a 2-core machine shared with other test runs; a batch holds the database's
write lock for milliseconds), or, on a machine so loaded that the same load without pruning
already comes near them, :data:`NOISE` times that baseline.

On SQLite the space the pruned rows held is reused: after the prune, inserting new tasks
does not grow the database (its page count), it takes pages from the freelist.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest

from tasktrack.storage.rows import TASK_COLUMNS
from tests.integration.conftest import Server, StartServer

#: On a quiet 2-core machine the SQLite case takes ~70 s (the bulk inserts most of it) and
#: the prune ~17 s; beside the rest of the suite both ran 3-4x longer.
pytestmark = pytest.mark.timeout(300)

ROWS = 100_000
#: Stated bounds, loose on purpose: this runs beside the rest of the suite on 2 shared cores
#: (seen there: 2.2 s for one request, with 160 ms for the same load without pruning). On a
#: quiet machine the longest were 282 ms (request) and 652 ms (task) on SQLite, 135 and 168 ms
#: on PostgreSQL; bench figures, not test figures.
REQUEST_BOUND = 5.0
TASK_BOUND = 8.0
NOISE = 10.0
DAY = 86400.0
FINISHED = ("done", "error", "cancelled")
_INSERT_TASK = (
    f"INSERT INTO tasks ({', '.join(TASK_COLUMNS)}) VALUES ({', '.join('?' * len(TASK_COLUMNS))})"
)
_INSERT_ATTEMPT = (
    "INSERT INTO task_attempts (task_id, attempt, worker_id, started_at, ended_at, outcome) "
    "VALUES (?, 1, 'w', ?, ?, ?)"
)
_REMAINING = "SELECT count(*) FROM tasks WHERE name = 'old.job'"


def old_rows(server: Server, count: int, first: int = 0) -> tuple[list[Any], list[Any]]:
    """``count`` tasks finished 60 days ago, and one attempt row each."""
    ended = time.time() - 60 * DAY
    tasks, attempts = [], []
    for i in range(first, first + count):
        task_id = f"{0x10000000 + i // 1000:08x}{i:016x}"
        status = FINISHED[i % 3]
        at = ended + i / 1000
        tasks.append((
            task_id, server.org_id, None, "old.job", f'{{"i": {i}}}', status, 1, 1,
            "boom" if status == "error" else "", at - 1, at, int(at - 2), int(at),
            server.user_id, server.user_id, 1, 1, at - 2, None, None, 3, None, 0, "default", None,
        ))  # fmt: skip
        outcome = "cancelled" if status == "cancelled" else status
        attempts.append((task_id, at - 1, at, outcome))
    return tasks, attempts


def insert_sqlite(server: Server, tasks: list[Any], attempts: list[Any]) -> None:
    """In transactions of 5,000: one of 100,000 could hold the write lock past the server's
    busy timeout on a loaded machine, and its writes would fail."""
    con = sqlite3.connect(server.db_path, timeout=30, isolation_level=None)
    try:
        for at in range(0, len(tasks), 5000):
            con.execute("BEGIN IMMEDIATE")
            con.executemany(_INSERT_TASK, tasks[at : at + 5000])
            con.executemany(_INSERT_ATTEMPT, attempts[at : at + 5000])
            con.execute("COMMIT")
    finally:
        con.close()


def insert_postgres(server: Server, tasks: list[Any], attempts: list[Any]) -> None:
    with psycopg.connect(server.db_url) as con, con.cursor() as cur:
        with cur.copy(f"COPY tasks ({', '.join(TASK_COLUMNS)}) FROM STDIN") as copy:
            for row in tasks:
                copy.write_row(row)
        columns = "task_id, attempt, worker_id, started_at, ended_at, outcome"
        with cur.copy(f"COPY task_attempts ({columns}) FROM STDIN") as copy:
            for task_id, started, ended, outcome in attempts:
                copy.write_row((task_id, 1, "w", started, ended, outcome))


def remaining(server: Server) -> int:
    if server.db_url.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(server.db_path, timeout=30)) as con:
            return int(con.execute(_REMAINING).fetchone()[0])
    with psycopg.connect(server.db_url) as con:
        row = con.execute(_REMAINING).fetchone()
        return int(row[0]) if row else 0


class Load:
    """Client threads that keep the server busy and record the longest waits."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.stop = threading.Event()
        self.longest_request = 0.0
        self.longest_task = 0.0
        self.requests = 0
        self.tasks = 0
        self.errors: list[str] = []
        #: Start times of requests answered 503.
        self.busy: list[float] = []
        self.since = time.monotonic()

    def reset(self) -> None:
        """Measure afresh from now: what started earlier (e.g. while the test's own bulk
        insert held the database) is not counted."""
        self.since = time.monotonic()
        self.longest_request = self.longest_task = 0.0
        self.requests = self.tasks = 0

    def timed(self, client: httpx.Client, method: str, url: str, **kw: Any) -> httpx.Response:
        started = time.monotonic()
        response = client.request(method, url, **kw)
        if started >= self.since:
            self.longest_request = max(self.longest_request, time.monotonic() - started)
            self.requests += 1
        if response.status_code == 503:
            # "Busy, retry": the server could not get the SQLite write lock in time. Judged
            # at the end: forgiven only if it began before the test's own bulk insert (another
            # process hammering the file) ended.
            self.busy.append(started)
        elif response.status_code >= 400:
            self.errors.append(f"{method} {url}: {response.status_code} {response.text[:200]}")
        return response

    def submitter(self) -> None:
        """Create a quick task, follow it until done: its end-to-end time."""
        with self.server.client() as client:
            while not self.stop.is_set():
                started = time.monotonic()
                body = {"name": "demo.sleep", "data": {"seconds": 0, "steps": 1}}
                created = self.timed(client, "POST", "/v2.0/tasks", json=body)
                if created.status_code != 201:
                    continue  # recorded (or forgiven) by timed()
                url, status = f"/v2.0/tasks/{created.json()['_id']}", ""
                while status not in ("done", "error", "cancelled") and not self.stop.is_set():
                    status = (
                        self.timed(client, "GET", url, params={"wait": "5"})
                        .json()
                        .get("status", "")
                    )
                if started >= self.since:
                    self.longest_task = max(self.longest_task, time.monotonic() - started)
                    self.tasks += 1

    def reader(self) -> None:
        """Read a page of tasks and one task, over and over."""
        with self.server.client() as client:
            while not self.stop.is_set():
                page = self.timed(client, "GET", "/v2.0/tasks", params={"limit": "5"}).json()
                for item in page.get("items", [])[:1]:
                    self.timed(client, "GET", f"/v2.0/tasks/{item['_id']}")


@contextlib.contextmanager
def loaded(server: Server) -> Iterator[Load]:
    load = Load(server)
    threads = [threading.Thread(target=fn) for fn in (load.submitter, load.reader)]
    for thread in threads:
        thread.start()
    try:
        yield load
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(timeout=30)


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)  # polling another process's database, bounded by the deadline


def test_pruning_100k_finished_tasks_stalls_neither_claims_nor_requests(
    server_factory: StartServer, api_backend: str
) -> None:
    env = {
        "TASKTRACK_WORKER": "1",
        "TASKTRACK_PRUNE_INTERVAL": "1",
        "TASKTRACK_CONCURRENCY": "2",
        "TASKTRACK_RETENTION_DONE": "7d",
        "TASKTRACK_RETENTION_ERROR": "30d",
        "TASKTRACK_RETENTION_CANCELLED": "7d",
    }
    server = server_factory(env=env)
    insert = insert_sqlite if api_backend == "sqlite" else insert_postgres
    with loaded(server) as load:
        wait_until(lambda: load.tasks > 0, 30, "the first task")  # worker and API warmed up
        load.reset()
        time.sleep(3)  # the same load without pruning: the machine's own noise
        baseline = (load.longest_request, load.longest_task)
        insert(server, *old_rows(server, ROWS))
        load.reset()  # measure from here: the bulk insert itself holds the database
        inserted = time.monotonic()
        started = time.monotonic()
        assert remaining(server) > ROWS / 4, "pruned too fast to measure anything"
        wait_until(lambda: remaining(server) == 0, 180, "the pruner to finish")
        pruning = time.monotonic() - started
        during = (load.requests, load.tasks)
    assert not load.errors, load.errors[:5]
    assert not [at for at in load.busy if at >= inserted], "503s while pruning"
    failures = [line for line in server.log().splitlines() if "failed" in line][-10:]
    assert during[0] > 10 and during[1] > 3, f"too little load while pruning: {during} {failures}"
    report = (
        f"pruned {ROWS} in ~{pruning:.1f}s; {during[0]} requests, {during[1]} tasks; longest "
        f"request {load.longest_request * 1000:.0f} ms, task {load.longest_task * 1000:.0f} ms"
    )
    print(report)
    report += f" (without pruning: {baseline[0] * 1000:.0f} ms, {baseline[1] * 1000:.0f} ms)"
    # On an overloaded machine (CI, parallel test runs) the scheduler alone can exceed the
    # bounds: then pruning may not make things more than NOISE times worse than they were.
    assert load.longest_request < max(REQUEST_BOUND, NOISE * baseline[0]), report
    assert load.longest_task < max(TASK_BOUND, NOISE * baseline[1]), report
    assert "pruned finished tasks past their retention" in server.log()
    if api_backend == "sqlite":
        space_is_reused(server)


def space_is_reused(server: Server) -> None:
    """New tasks after a prune fill the freed pages: the database does not grow."""

    def pages() -> tuple[int, int]:
        with contextlib.closing(sqlite3.connect(server.db_path, timeout=30)) as con:
            (count,) = con.execute("PRAGMA page_count").fetchone()
            (free,) = con.execute("PRAGMA freelist_count").fetchone()
            return int(count), int(free)

    before, free_before = pages()
    assert free_before > 1000, "the prune should have left free pages"
    insert_sqlite(server, *old_rows(server, ROWS // 4, first=ROWS))
    after, free_after = pages()
    assert after == before, f"the file grew from {before} to {after} pages"
    assert free_after < free_before
