"""The SQL TaskStore, written once for SQLite and PostgreSQL.

Every statement comes from :mod:`~tasktrack.storage.lifecycle_sql` (the lifecycle table) or
:mod:`~tasktrack.storage.sql` (listing); a :class:`~tasktrack.storage.dialect.Dialect` runs
them. Each lifecycle move is a conditional UPDATE, so the database enforces the table even
with many processes on one database.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

from tasktrack.domain.fairness import DEFAULT_QUEUE, Lane, Rotation
from tasktrack.domain.flow import Limits, limited
from tasktrack.domain.history import Attempt, LogLine, Outcome, TaskResult
from tasktrack.domain.lifecycle import TERMINAL, Status, targets
from tasktrack.domain.listing import ListQuery, Page, Scope
from tasktrack.domain.logs import LogEntry
from tasktrack.domain.task import Task, TraceContext
from tasktrack.errors import Conflict, LeaseLost, NotFound, StorageError
from tasktrack.storage import lifecycle_sql as lsql
from tasktrack.storage import logs_sql
from tasktrack.storage import retention_sql as rsql
from tasktrack.storage.attempts import ATTEMPT_COLUMNS, attempt_from_row, with_running
from tasktrack.storage.counts_sql import SqlCounts
from tasktrack.storage.dedup_sql import SqlDedup
from tasktrack.storage.dialect import Dialect, Move, Row, Statement
from tasktrack.storage.flow_sql import limited_claim
from tasktrack.storage.paging import page_from_window
from tasktrack.storage.rows import exact_time, insert_task, task_from_row, task_to_row
from tasktrack.storage.schedule_sql import SqlSchedules
from tasktrack.storage.sql import list_sql
from tasktrack.storage.sql_identity import SqlIdentityStore
from tasktrack.storage.webhook_store import SqlWebhookStore
from tasktrack.storage.workers_sql import SqlStatsStore, SqlWorkerStore

_SELECT_ONE = "SELECT * FROM tasks WHERE id = ?"
_SELECT_RESULT = "SELECT task_id, attempt, value, created_at FROM task_results WHERE task_id = ?"
_HAS_RESULT = "SELECT 1 FROM task_results WHERE task_id = ?"
#: Newest first (ids break ties: within a process they grow).
_SELECT_RERUNS = "SELECT id FROM tasks WHERE rerun_of = ? ORDER BY created_at DESC, id DESC LIMIT ?"
_SELECT_ATTEMPTS = f"SELECT {ATTEMPT_COLUMNS} FROM task_attempts WHERE task_id = ? ORDER BY attempt"
_INSERT_TRACE = "INSERT INTO task_traces (task_id, traceparent, tracestate) VALUES (?, ?, ?)"
_SELECT_TRACE = "SELECT traceparent, tracestate FROM task_traces WHERE task_id = ?"
#: Where a cancel request leaves a task: asking again there changes nothing.
_CANCEL_SETTLED = frozenset(targets("cancel"))


def _lost(task_id: str, attempt: int) -> LeaseLost:
    return LeaseLost(f"attempt {attempt} of task {task_id} no longer holds it")


def in_scope(task: Task, scope: Scope) -> bool:
    """True when ``scope`` may see ``task``."""
    return task.org_id == scope.org_id and (
        scope.project_id is None or task.project_id == scope.project_id
    )


def _by_claim_order(rows: Iterable[Row]) -> list[Task]:
    return sorted((task_from_row(r) for r in rows), key=lambda t: (-t.priority, t.run_after, t.id))


#: Most lanes one claim call tries when its lane in turn came up short.
MAX_LANE_TRIES = 32


class _LaneClaim:
    """One claim call's statements: take tasks from one lane at a time."""

    def __init__(
        self, store: SqlTaskStore, worker_id: str, names: Collection[str], lease: float, now: float
    ) -> None:
        self.dialect = store.dialect
        self.names = store.dialect.in_list("name", list(names))
        self.update_set = lsql.claim_set(worker_id, lease, now)
        self.now = now

    async def take(self, lane: Lane, limit: int) -> list[Task]:
        conditions = lsql.claim_conditions(lane, self.names, self.now)
        queue = lsql.claim_queue(conditions, limit)
        rows = await self.dialect.claim(self.dialect.claim_statement(queue, self.update_set))
        return _by_claim_order(rows)


class SqlTaskStore(SqlDedup, SqlSchedules, SqlCounts):
    """A :class:`~tasktrack.storage.base.TaskStore` on any :class:`Dialect`."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._insert = insert_task(dialect.json_param)
        #: Each worker's place in the round-robin over lanes (docs/scheduling-claims.md).
        self._rotations: dict[str, Rotation] = {}

    async def create(self, task: Task, trace: TraceContext | None = None) -> Task:
        insert = (self._insert, task_to_row(task))
        try:
            if trace is None:  # one statement: it may share a commit with other creates
                await self.dialect.insert_grouped(insert)
            else:
                await self.dialect.write_all([insert, *self._trace_statements(task, trace)])
        except StorageError as exc:
            if self.dialect.is_duplicate(exc):
                raise Conflict(f"task {task.id} exists") from exc
            raise
        return self._notify(task)

    def _trace_statements(self, task: Task, trace: TraceContext | None) -> list[Statement]:
        # In the create's transaction: no claim can see the task without its trace.
        return [] if trace is None else [(_INSERT_TRACE, (task.id, *trace))]

    async def trace_context(self, task_id: str) -> TraceContext | None:
        row = await self.dialect.lookup_one((_SELECT_TRACE, (task_id,)))
        return None if row is None else (row[0], row[1])

    async def get(self, task_id: str, scope: Scope | None = None) -> Task | None:
        row = await self.dialect.lookup_one((_SELECT_ONE, (task_id,)))
        if row is None:
            return None
        task = task_from_row(row)
        return task if scope is None or in_scope(task, scope) else None

    async def list_page(self, query: ListQuery) -> Page:
        sql, count_sql, params, count_params = list_sql(query, lower=self.dialect.lower)
        rows, counted = await self.dialect.scan_snapshot(
            [(sql, tuple(params)), (count_sql, tuple(count_params))]
        )
        items = [task_from_row(r) for r in rows[: query.limit]]
        if query.cursor is not None and query.cursor.direction == "previous":
            items.reverse()
        sort = query.cursor.sort if query.cursor else query.sort
        total = await self._total(counted)
        return page_from_window(items, total, sort, len(rows) > query.limit, query)

    async def request_cancel(self, task_id: str, scope: Scope, user_id: str, now: float) -> Task:
        now = exact_time(now)
        cancel = lsql.cancel(task_id, scope.org_id, scope.project_id, user_id, now)
        row = await self.dialect.write_first([cancel])
        if row is not None:
            return self._notify(task_from_row(row))
        # Nothing moved: tell a stranger's (or no) task from one cancel cannot move.
        task = await self.get(task_id, scope)
        if task is None:
            raise NotFound(f"Task {task_id} not found")
        if task.status in _CANCEL_SETTLED:
            return task
        raise Conflict(f"Task {task_id} is already {task.status.value}")

    async def claim(
        self,
        worker_id: str,
        names: Collection[str],
        limit: int,
        lease_seconds: float,
        now: float,
        queues: Sequence[str] = (DEFAULT_QUEUE,),
        limits: Mapping[str, Limits] | None = None,
    ) -> list[Task]:
        now = exact_time(now)
        if not names or not queues or limit < 1:
            return []
        caps = limited(names, limits)
        if caps:
            # Only claims that serve a limited type pay for counting (flow_sql). They take
            # the oldest due task of the worker's types, without lanes (see
            # docs/scheduling-limits.md: priority and fair share do not apply to them yet).
            update_set = lsql.claim_set(worker_id, lease_seconds, now)
            steps = limited_claim(self.dialect, list(names), caps, limit, update_set, now)
            tasks = _by_claim_order(await self.dialect.claim_steps(steps))
            self.dialect.notify(tasks)
            return tasks
        rotation = self._rotations.setdefault(worker_id, Rotation())
        claim = _LaneClaim(self, worker_id, names, lease_seconds, now)
        # The next lane in turn, found inside the claim statement: one round trip when it
        # has work, as before lanes.
        tasks = await claim.take(rotation.next_lane(queues), limit)
        if not tasks:
            # That lane has nothing due for this worker (only delayed tasks, or other
            # types): look past it. A short but non-empty claim is not filled here: the
            # worker claims again at once, and that claim's lane is the next one.
            tasks = await self._claim_around(claim, rotation, queues, limit, tasks)
        for task in tasks:
            rotation.served(task.queue, task.org_id)
        self.dialect.notify(tasks)
        return tasks

    async def _claim_around(
        self,
        claim: _LaneClaim,
        rotation: Rotation,
        queues: Sequence[str],
        limit: int,
        got: list[Task],
    ) -> list[Task]:
        """Claim from the next lanes with queued work, in turn order (a lane holding only
        tasks not yet due, or of other types, does not block the ones after).
        At most :data:`MAX_LANE_TRIES` lanes per call, each marked visited, so a thousand
        organisations with only delayed tasks cost a bounded claim, and the next call goes
        on from there."""
        tried = {(t.queue, t.org_id) for t in got}
        out: list[Task] = []
        for queue in queues:
            for lane in await self._next_lanes(rotation, queue):
                if len(out) >= limit or len(tried) >= MAX_LANE_TRIES:
                    return out
                if (lane.queue, lane.org_id) not in tried and lane.org_id is not None:
                    tried.add((lane.queue, lane.org_id))
                    rotation.served(lane.queue, lane.org_id)
                    out += await claim.take(lane, limit - len(out))
        return out

    async def _next_lanes(self, rotation: Rotation, queue: str) -> list[Lane]:
        """The lanes of ``queue`` in turn order, up to :data:`MAX_LANE_TRIES` (one loose
        index scan from the last served organisation, and one from the start to wrap)."""
        after = rotation.last(queue)
        rows = await self.dialect.lookup_all(lsql.lane_orgs(queue, after, MAX_LANE_TRIES))
        orgs = [row[0] for row in rows]
        if len(orgs) < MAX_LANE_TRIES and after:
            wrapped = await self.dialect.lookup_all(lsql.lane_orgs(queue, "", MAX_LANE_TRIES))
            orgs += [row[0] for row in wrapped if row[0] <= after]
        return rotation.order(queue, orgs)

    async def renew_leases(
        self, worker_id: str, claims: Collection[tuple[str, int]], lease_seconds: float, now: float
    ) -> dict[str, Status]:
        if not claims:
            return {}
        rows = await self.dialect.write_all([lsql.renew(claims, lease_seconds, now)])
        return {row[0]: Status(row[1]) for row in rows}

    async def record_progress(
        self, task_id: str, attempt: int, current_step: int, total_step: int, now: float
    ) -> Status:
        total = max(total_step, current_step)
        row = await self.dialect.write_first(
            lsql.progress(task_id, attempt, current_step, total, now)
        )
        if row is None:
            raise _lost(task_id, attempt)
        self.dialect.touch(task_id)
        return Status(row[0])

    async def finish(
        self, task_id: str, attempt: int, now: float, result_json: str | None = None
    ) -> Task:
        now = exact_time(now)
        moves = lsql.finish(task_id, attempt, now)
        if result_json is not None:
            moves = lsql.with_result(moves, result_json, now)
        finished = (task_id, attempt, now, result_json)
        return self._moved(await self.dialect.write_finish(moves, finished), task_id, attempt)

    async def fail(
        self,
        task_id: str,
        attempt: int,
        reason: str,
        now: float,
        outcome: Outcome = Outcome.ERROR,
    ) -> Task:
        moves = lsql.fail(task_id, attempt, reason, exact_time(now), outcome)
        return await self._fenced(moves, task_id, attempt)

    async def stop(self, task_id: str, attempt: int, now: float) -> Task:
        return await self._fenced(lsql.stop(task_id, attempt, exact_time(now)), task_id, attempt)

    async def retry(
        self, task_id: str, attempt: int, run_after: float, now: float, reason: str = ""
    ) -> Task:
        moves = lsql.retry(task_id, attempt, run_after, exact_time(now), reason)
        return await self._fenced(moves, task_id, attempt)

    async def release(self, task_id: str, attempt: int, now: float) -> Task:
        return await self._fenced(lsql.release(task_id, attempt, exact_time(now)), task_id, attempt)

    async def _fenced(self, moves: list[Move], task_id: str, attempt: int) -> Task:
        return self._moved(await self.dialect.write_moves(moves, first=True), task_id, attempt)

    def _moved(self, rows: list[Row], task_id: str, attempt: int) -> Task:
        if not rows:
            raise _lost(task_id, attempt)
        return self._notify(task_from_row(rows[0]))

    def _notify(self, task: Task) -> Task:
        self.dialect.notify([task])
        return task

    async def expire_leases(self, now: float, lost_reason: str) -> list[Task]:
        rows = await self.dialect.write_moves(lsql.expire(exact_time(now), lost_reason), False)
        recovered = [task_from_row(r) for r in rows]
        self.dialect.notify(recovered)
        return recovered

    async def upcoming(
        self, scope: Scope, now: float, after: tuple[float, str] | None, limit: int
    ) -> list[Task]:
        statement = lsql.upcoming(scope.org_id, scope.project_id, now, after, limit)
        return [task_from_row(row) for row in await self.dialect.scan_all(statement)]

    async def next_due(self, now: float) -> float | None:
        row = await self.dialect.lookup_one((lsql.NEXT_DUE, (now,)))
        return None if row is None else float(row[0])

    async def statuses(self, task_ids: Collection[str]) -> dict[str, Status]:
        if not task_ids:
            return {}
        match, args = self.dialect.in_list("id", list(task_ids))
        rows = await self.dialect.lookup_all((f"SELECT id, status FROM tasks WHERE {match}", args))
        return {row[0]: Status(row[1]) for row in rows}

    async def wait_queued(self, timeout: float) -> None:
        await self.dialect.wait_queued(timeout)

    async def wait_changed(self, task_ids: Collection[str], timeout: float) -> None:
        await self.dialect.wait_changed(task_ids, timeout)

    async def close(self) -> None:
        return None

    # -- results and re-runs (issue 13) -----------------------------------------------------

    async def get_result(self, task_id: str) -> TaskResult | None:
        row = await self.dialect.lookup_one((_SELECT_RESULT, (task_id,)))
        return None if row is None else TaskResult(row[0], int(row[1]), row[2], float(row[3]))

    async def has_result(self, task_id: str) -> bool:
        return await self.dialect.lookup_one((_HAS_RESULT, (task_id,))) is not None

    async def reruns(self, task_id: str, limit: int) -> list[str]:
        rows = await self.dialect.lookup_all((_SELECT_RERUNS, (task_id, limit)))
        return [row[0] for row in rows]

    async def attempts(self, task_id: str, scope: Scope | None = None) -> list[Attempt] | None:
        # One snapshot: an attempt ending between the two reads is neither lost nor doubled.
        tasks, ended = await self.dialect.scan_snapshot(
            [(_SELECT_ONE, (task_id,)), (_SELECT_ATTEMPTS, (task_id,))]
        )
        if not tasks:
            return None
        task = task_from_row(tasks[0])
        if scope is not None and not in_scope(task, scope):
            return None
        return with_running((attempt_from_row(r) for r in ended), task)

    async def append_logs(
        self, task_id: str, attempt: int, lines: Sequence[LogEntry], dropped: int = 0
    ) -> None:
        if not lines:
            return
        await self.dialect.write_all(logs_sql.append(task_id, attempt, lines, dropped))
        self.dialect.touch(task_id)

    async def logs(self, task_id: str, after: int = 0, limit: int = 100) -> list[LogLine]:
        rows = await self.dialect.lookup_all(logs_sql.read(task_id, after, limit))
        return [logs_sql.line_from_row(row) for row in rows]

    # -- retention (issue 13) ------------------------------------------------------------

    async def delete(self, task_id: str, scope: Scope) -> Task:
        row = await self.dialect.write_first([rsql.delete_one(task_id, scope)])
        if row is not None:
            return task_from_row(row)
        task = await self.get(task_id, scope)  # nothing deleted: missing, or not finished
        if task is None:
            raise NotFound(f"Task {task_id} not found")
        raise Conflict(
            f"Task {task_id} is {task.status.value}: only a finished task can be deleted"
        )

    async def prune(self, status: Status, finished_before: float, limit: int) -> int:
        _check_terminal(status)
        if limit < 1:
            return 0
        deleted = await self.dialect.delete_exclusive(rsql.prune(status, finished_before, limit))
        return deleted or 0

    async def count_finished(self, status: Status, finished_before: float) -> int:
        _check_terminal(status)
        rows = await self.dialect.scan_all(rsql.count(status, finished_before))
        return int(rows[0][0]) if rows else 0


def _check_terminal(status: Status) -> None:
    if status not in TERMINAL:
        raise ValueError(f"only finished tasks are pruned, not {status.value}")


class SqlStores:
    """Both SQL stores over one database, sharing its dialect. Backends add ``close``."""

    def __init__(self, dialect: Dialect) -> None:
        self.tasks = SqlTaskStore(dialect)
        self.identity = SqlIdentityStore(dialect)
        #: Webhooks live on the SQL stores only (see :mod:`.webhook_store`).
        self.webhooks = SqlWebhookStore(dialect)
        self.workers = SqlWorkerStore(dialect)
        self.stats = SqlStatsStore(dialect)
