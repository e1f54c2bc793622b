"""How the shared SQL runs on PostgreSQL: many API processes and workers, one database.

Statements arrive with ``?`` placeholders and run with psycopg's ``%s`` (our SQL holds no
other ``?`` and no literal ``%``). Single statements run in autocommit, one round trip; a
transaction is opened only where several statements must be atomic. Claims lock with
``FOR UPDATE SKIP LOCKED``, so concurrent workers never wait on, or take, each other's rows.
Waiters hear other processes through LISTEN/NOTIFY (a trigger notifies; see the migrations).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import psycopg

from tasktrack.domain.task import Task
from tasktrack.errors import StorageError
from tasktrack.storage.dialect import Finished, Move, Row, Statement, Steps
from tasktrack.storage.postgres.connection import PostgresDatabase, pg_sql, returns_rows
from tasktrack.storage.postgres.finish_many import finish_many
from tasktrack.storage.postgres.group_commit import GroupCommit, Merge

#: The advisory lock key that makes pruning one-at-a-time across processes ("tt-prune").
PRUNE_LOCK = 0x74742D7072756E65
#: The first key of the per-type claim locks of limited task types ("tc"); the second is
#: the type name's hash (a collision only makes two types' claims take turns).
CLAIM_LOCK_SPACE = 0x7463


async def _run(con: psycopg.AsyncConnection[Any], statement: Statement) -> psycopg.AsyncCursor[Any]:
    return await con.execute(pg_sql(statement[0]), statement[1])


async def _rows(con: psycopg.AsyncConnection[Any], statement: Statement) -> list[Row]:
    cursor = await _run(con, statement)
    return await cursor.fetchall() if returns_rows(cursor) else []


async def _first(con: psycopg.AsyncConnection[Any], statement: Statement) -> Row | None:
    cursor = await _run(con, statement)
    return await cursor.fetchone() if returns_rows(cursor) else None


@functools.cache  # one object per statement text: the group commit merges writes of one merge
def insert_many(sql: str) -> Merge:
    """The merge of a single-row ``INSERT INTO t (key, ...) VALUES (...)``: one statement
    inserting every row, returning each row's key (its first column) to answer its caller."""
    head, _, row = sql.partition(" VALUES ")
    if not head.startswith("INSERT INTO ") or not row.startswith("(") or not row.endswith(")"):
        raise ValueError(f"not a single-row INSERT ... VALUES: {sql}")
    key = head[head.index("(") + 1 :].split(",", 1)[0].strip()

    def merge(rows: Sequence[Any]) -> Statement:
        values = ", ".join([row] * len(rows))
        return f"{head} VALUES {values} RETURNING {key}", tuple(a for r in rows for a in r)

    return merge


def with_moved(move: Move) -> Statement:
    """A move as one statement: the UPDATE and its follow-ups as data-modifying CTEs, which
    run only over the rows the UPDATE moved (one round trip, atomic)."""
    (sql, args), follow = move
    ctes = "".join(f", f{i} AS ({f[0]})" for i, f in enumerate(follow))
    follow_args = (a for f in follow for a in f[1])
    return f"WITH moved AS ({sql}){ctes} SELECT * FROM moved", (*args, *follow_args)


#: The advisory lock key of the list counters' compaction ("tt-count").
COUNT_LOCK = 0x74742D636F756E74
#: Fold every committed delta into its counter, atomically (migration 0011). Deltas that
#: commit meanwhile are not in the DELETE's snapshot: they stay for the next round.
_COMPACT = (
    "WITH gone AS (DELETE FROM task_count_deltas RETURNING org_id, project_id, name, status, d),"
    " folded AS (INSERT INTO task_counts (org_id, project_id, name, status, n)"
    " SELECT org_id, project_id, name, status, sum(d) FROM gone"
    " GROUP BY org_id, project_id, name, status"
    " ON CONFLICT (org_id, project_id, name, status) DO UPDATE SET n = task_counts.n + excluded.n)"
    " SELECT count(*) FROM gone"
)
#: A compaction that folded this many deltas vacuums their table at once: until a vacuum,
#: its readers step over the deleted rows (1,000,000 of them cost a list 140 ms).
VACUUM_AFTER = 10_000


class PostgresDialect:
    """A :class:`~tasktrack.storage.dialect.Dialect` on a :class:`PostgresDatabase`."""

    json_param = "?::json"
    lower = "lower"  # PostgreSQL's lower() folds Unicode
    row_lock = " FOR UPDATE SKIP LOCKED"

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        #: Settles and other one-statement fenced moves, committed in groups.
        self._group = GroupCommit(db, self._first_alone)

    def int_floor(self, expression: str) -> str:
        # CAST would round here, not truncate.
        return f"CAST(floor({expression}) AS bigint)"

    def in_list(self, column: str, values: Sequence[Any]) -> Statement:
        # One array parameter: the same text (and prepared statement) for any length.
        return f"{column} = ANY(?)", (list(values),)

    def claim_statement(self, queue: Statement, update_set: Statement) -> Statement:
        return (
            f"WITH picked AS ({queue[0]} FOR UPDATE SKIP LOCKED) "
            f"UPDATE tasks t SET {update_set[0]} FROM picked WHERE t.id = picked.id RETURNING t.*",
            (*queue[1], *update_set[1]),
        )

    def is_duplicate(self, error: StorageError) -> bool:
        return isinstance(error.__cause__, psycopg.errors.UniqueViolation)

    async def write_first(self, statements: Sequence[Statement]) -> Row | None:
        # Alternatives, each atomic on its own: no transaction needed around them.
        async with self.db.connection() as con:
            for statement in statements:
                row = await _first(con, statement)
                if row is not None:
                    return row
        return None

    async def _first_alone(self, statement: Statement) -> Row | None:
        async with self.db.connection() as con:
            return await _first(con, statement)

    async def write_all(self, statements: Sequence[Statement]) -> list[Row]:
        if len(statements) == 1:
            async with self.db.connection() as con:
                return await _rows(con, statements[0])
        async with self.db.connection() as con, con.transaction():
            return [row for statement in statements for row in await _rows(con, statement)]

    async def insert_grouped(self, statement: Statement) -> None:
        # Creates under load: the INSERTs arriving during a flush become one multi-row
        # INSERT, one commit (and WAL flush) for the lot instead of a statement and a commit
        # each (bench/README.md, "Stop 24"); should it fail, each runs alone.
        await self._group.first_row(statement, insert_many(statement[0]), statement[1])

    async def write_guarded(self, statements: Sequence[Statement]) -> bool:
        if len(statements) == 1:
            async with self.db.connection() as con:
                return (await _run(con, statements[0])).rowcount > 0
        async with self.db.connection() as con, con.transaction():
            if (await _run(con, statements[0])).rowcount == 0:
                return False
            for statement in statements[1:]:
                await _run(con, statement)
            return True

    async def write_moves(self, moves: Sequence[Move], first: bool) -> list[Row]:
        statements = [with_moved(move) for move in moves]
        if first and len(statements) == 1:
            # A fenced move with one target (finish, fail, stop): independent of any other,
            # so it may share a commit with the writes arriving meanwhile.
            row = await self._group.first_row(statements[0])
            return [] if row is None else [row]
        if not first:
            return await self.write_all(statements)
        row = await self.write_first(statements)
        return [] if row is None else [row]

    async def write_finish(self, moves: Sequence[Move], finished: Finished) -> list[Row]:
        # Finishes arriving together go as one statement (finish_many.py); alone, or should
        # the merged one fail, as their own move.
        (statement,) = [with_moved(move) for move in moves]
        row = await self._group.first_row(statement, finish_many, finished)
        return [] if row is None else [row]

    async def claim(self, statement: Statement) -> list[Row]:
        # One autocommit statement on a connection planned for claims (CLAIM_SETTINGS).
        async with self.db.claim_connection() as con:
            return await (await _run(con, statement)).fetchall()

    def serialize_claims(self, names: Sequence[str]) -> Statement | None:
        # Transaction-scoped: the commit (or a crash) releases them. Taken in the order of
        # ``names`` (sorted by the caller) so two claimers of overlapping types never deadlock.
        return (
            "SELECT pg_advisory_xact_lock(?, hashtext(n)) FROM unnest(?::text[]) AS n",
            (CLAIM_LOCK_SPACE, list(names)),
        )

    def lock_rows(self, queue: Statement) -> Statement:
        return f"{queue[0]} FOR UPDATE SKIP LOCKED", queue[1]

    async def claim_steps(self, steps: Steps) -> list[Row]:
        # On a connection planned for claims, as a plain claim (see claim).
        async with self.db.claim_connection() as con, con.transaction():
            try:
                statement = next(steps)
                while True:
                    statement = steps.send(await _rows(con, statement))
            except StopIteration as done:
                rows: list[Row] = done.value
                return rows

    async def lookup_one(self, statement: Statement) -> Row | None:
        async with self.db.connection() as con:
            return await _first(con, statement)

    async def lookup_all(self, statement: Statement) -> list[Row]:
        async with self.db.connection() as con:
            return await _rows(con, statement)

    async def scan_all(self, statement: Statement) -> list[Row]:
        return await self.lookup_all(statement)

    async def scan_snapshot(self, statements: Sequence[Statement]) -> list[list[Row]]:
        async with self.db.connection() as con, con.transaction():
            await con.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            return [await _rows(con, statement) for statement in statements]

    def notify(self, tasks: Iterable[Task]) -> None:
        return None  # the tasks table's trigger NOTIFYs every process, this one included

    async def identity_epoch(self) -> int | None:
        self.db.listen()  # the first caller starts the listener; until it listens: None
        return self.db.identity_epoch

    def touch(self, task_id: str) -> None:
        return None

    async def wait_queued(self, timeout: float) -> None:
        self.db.listen()
        await self.db.events.wait_queued(timeout)

    async def wait_changed(self, task_ids: Collection[str], timeout: float) -> None:
        self.db.listen()
        await self.db.events.wait_changed(task_ids, timeout)

    async def compact_counts(self) -> int:
        # Skipped, not queued, while another process compacts: it folds the same rows.
        async with self.db.connection() as con, con.transaction():
            cursor = await con.execute("SELECT pg_try_advisory_xact_lock(%s)", (COUNT_LOCK,))
            row = await cursor.fetchone()
            if row is None or not row[0]:
                return 0
            row = await (await con.execute(_COMPACT)).fetchone()
            folded = int(row[0]) if row else 0
        if folded >= VACUUM_AFTER:
            async with self.db.connection() as con:  # autocommit: VACUUM needs no transaction
                await con.execute("VACUUM task_count_deltas")
        return folded

    async def delete_exclusive(self, statement: Statement) -> int | None:
        # A transaction-scoped advisory lock: released by the commit, so a crashed pruner
        # never leaves it held; a second pruner does not wait for it but skips this round.
        async with self.db.connection() as con, con.transaction():
            cursor = await con.execute("SELECT pg_try_advisory_xact_lock(%s)", (PRUNE_LOCK,))
            row = await cursor.fetchone()
            if row is None or not row[0]:
                return None
            return (await _run(con, statement)).rowcount
