"""How the shared SQL runs on SQLite.

Writes are sync callables on the database's group-commit writer thread (each call one
SAVEPOINT of a shared transaction, so it is atomic and other processes see all or nothing of
it). Key lookups run inline on the event loop's thread: a primary-key read is a few
microseconds, less than a thread hop. Scans go to the reader pool. There is no push channel
between processes: changes made through this object wake its own waiters at once
(:class:`~tasktrack.storage.events.LocalEvents`), other processes poll.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

from tasktrack.domain.task import Task
from tasktrack.errors import StorageError
from tasktrack.storage.dialect import Finished, Move, Row, Statement, Steps
from tasktrack.storage.events import LocalEvents
from tasktrack.storage.sqlite.connection import SQLiteDatabase
from tasktrack.storage.sqlite.finish_many import finish_many
from tasktrack.storage.sqlite.jobs import Mergeable

_IDENTITY_EPOCH: Statement = ("SELECT version FROM identity_changes WHERE id = 1", ())


class SQLiteDialect:
    """A :class:`~tasktrack.storage.dialect.Dialect` on a :class:`SQLiteDatabase`."""

    json_param = "?"
    lower = "tt_lower"  # registered on every connection; see SQLiteDatabase.connection
    row_lock = ""  # one writer at a time: nothing to skip

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        self.events = LocalEvents()

    def int_floor(self, expression: str) -> str:
        # CAST truncates toward zero: the floor of a non-negative value (SQLite's floor()
        # exists only in builds with the math functions).
        return f"CAST({expression} AS INTEGER)"

    def in_list(self, column: str, values: Sequence[Any]) -> Statement:
        return f"{column} IN ({', '.join('?' * len(values))})", tuple(values)

    def claim_statement(self, queue: Statement, update_set: Statement) -> Statement:
        # One writer at a time (BEGIN IMMEDIATE): no row locking to ask for.
        return (
            f"UPDATE tasks SET {update_set[0]} WHERE id IN ({queue[0]}) RETURNING *",
            (*update_set[1], *queue[1]),
        )

    def is_duplicate(self, error: StorageError) -> bool:
        return isinstance(error.__cause__, sqlite3.IntegrityError)

    async def write_first(self, statements: Sequence[Statement]) -> Row | None:
        def run(con: sqlite3.Connection) -> Row | None:
            for sql, args in statements:
                row: Row | None = con.execute(sql, args).fetchone()
                if row is not None:
                    return row
            return None

        return await self.db.write(run)

    async def write_all(self, statements: Sequence[Statement]) -> list[Row]:
        def run(con: sqlite3.Connection) -> list[Row]:
            return [row for sql, args in statements for row in con.execute(sql, args).fetchall()]

        return await self.db.write(run)

    async def insert_grouped(self, statement: Statement) -> None:
        await self.write_all([statement])  # the writer thread groups every write already

    async def write_guarded(self, statements: Sequence[Statement]) -> bool:
        def run(con: sqlite3.Connection) -> bool:
            if con.execute(*statements[0]).rowcount == 0:
                return False
            for sql, args in statements[1:]:
                con.execute(sql, args)
            return True

        return await self.db.write(run)

    async def write_moves(self, moves: Sequence[Move], first: bool) -> list[Row]:
        return await self.db.write(_moves_job(moves, first))

    async def write_finish(self, moves: Sequence[Move], finished: Finished) -> list[Row]:
        # Finishes in one writer group go as one statement (finish_many.py); alone, or
        # should the merged one fail, as their own move.
        merge = Mergeable(finish_many, finished)
        return await self.db.write(_moves_job(moves, first=True), merge=merge)

    async def claim(self, statement: Statement) -> list[Row]:
        sql, args = statement
        # Urgent: the worker's children may be idle until this commits.
        return await self.db.write(lambda con: con.execute(sql, args).fetchall(), urgent=True)

    def serialize_claims(self, names: Sequence[str]) -> Statement | None:
        return None  # BEGIN IMMEDIATE: one writer at a time across processes already

    def lock_rows(self, queue: Statement) -> Statement:
        return queue

    async def claim_steps(self, steps: Steps) -> list[Row]:
        def run(con: sqlite3.Connection) -> list[Row]:
            try:
                statement = next(steps)
                while True:
                    statement = steps.send(con.execute(*statement).fetchall())
            except StopIteration as done:
                rows: list[Row] = done.value
                return rows

        return await self.db.write(run, urgent=True)

    async def lookup_one(self, statement: Statement) -> Row | None:
        sql, args = statement
        row: Row | None = self.db.read_inline(lambda con: con.execute(sql, args).fetchone())
        return row

    async def lookup_all(self, statement: Statement) -> list[Row]:
        sql, args = statement
        return self.db.read_inline(lambda con: con.execute(sql, args).fetchall())

    async def scan_all(self, statement: Statement) -> list[Row]:
        sql, args = statement
        return await self.db.read(lambda con: con.execute(sql, args).fetchall())

    async def scan_snapshot(self, statements: Sequence[Statement]) -> list[list[Row]]:
        def run(con: sqlite3.Connection) -> list[list[Row]]:
            con.execute("BEGIN")  # one read transaction: one snapshot
            try:
                return [con.execute(sql, args).fetchall() for sql, args in statements]
            finally:
                con.execute("COMMIT")

        return await self.db.read(run)

    def notify(self, tasks: Iterable[Task]) -> None:
        self.events.notify(tasks)

    async def identity_epoch(self) -> int | None:
        # One inline read of one row, which triggers move in the committing transaction
        # (migration 0011): any process's change is seen by the next statement after it.
        row = await self.lookup_one(_IDENTITY_EPOCH)
        return int(row[0]) if row else None

    def touch(self, task_id: str) -> None:
        self.events.touch(task_id)

    async def wait_queued(self, timeout: float) -> None:
        await self.events.wait_queued(timeout)

    async def wait_changed(self, task_ids: Collection[str], timeout: float) -> None:
        await self.events.wait_changed(task_ids, timeout)

    async def compact_counts(self) -> int:
        return 0  # one writer at a time: the triggers update the counters themselves

    async def delete_exclusive(self, statement: Statement) -> int | None:
        # One writer at a time already: the prune is one job of the writer thread, so
        # claims and API writes queued behind it wait for this batch only.
        sql, args = statement
        return await self.db.write(lambda con: con.execute(sql, args).rowcount)


#: Moved rows per follow-up statement (far below SQLite's parameter limit).
MOVED_SLICE = 500


def _moves_job(moves: Sequence[Move], first: bool) -> Callable[[sqlite3.Connection], list[Row]]:
    """The writer's job running ``moves`` (alternatives if ``first``): their moved rows."""

    def run(con: sqlite3.Connection) -> list[Row]:
        out: list[Row] = []
        for move in moves:
            out.extend(_move(con, move))
            if first and out:
                break
        return out

    return run


def _move(con: sqlite3.Connection, move: Move) -> list[Row]:
    """One move: its UPDATE, then its follow-ups over the rows it moved. One writer at a
    time, so the moved rows read back by id are exactly as the UPDATE left them."""
    (sql, args), follow = move
    rows: list[Row] = con.execute(sql, args).fetchall()
    ids = [row[0] for row in rows]  # RETURNING *: ``id`` is the first column
    # In slices: one sweep may expire more leases than SQLite takes parameters (32,766).
    for start in range(0, len(ids), MOVED_SLICE):
        some = ids[start : start + MOVED_SLICE]
        moved = f"WITH moved AS (SELECT * FROM tasks WHERE id IN ({', '.join('?' * len(some))})) "
        for follow_sql, follow_args in follow:
            con.execute(moved + follow_sql, (*some, *follow_args))
    return rows
