"""Group commit for PostgreSQL: concurrent single-statement writes of one process share a
transaction, one round trip and one WAL flush.

Why: a worker settles every attempt with its own fenced statement. Run one by one in
autocommit, each is a commit, and with ``synchronous_commit=on`` each commit waits for its
WAL flush: while draining, the backends spent most of their active time waiting on
``LWLock:WALWrite``/``IO:WALSync`` (``bench.pg.profile_worker_pg``). Here a write that finds
no flush under way starts one at once (so an idle process adds no latency); writes arriving
while a flush runs wait for it and then go together in the next one, pipelined in one
transaction (psycopg's pipeline mode: one round trip). pgqueuer batches its completions the
same way, but acknowledges before they commit; here every caller still hears back only after
the commit, so nothing acknowledged is lost.

Each statement is independent (a fenced UPDATE that matches its row or not). If one fails,
the transaction is rolled back and every statement of the batch runs again on its own, so one
bad write fails alone, as it would have without batching.

Writes of one kind that can be *merged* (finishes: :mod:`.finish_many`) go further: those of a
batch become one statement over arrays, each caller answered with its own row (or None, its
fence refused). psycopg's work per statement, not the database's, was then the worker's
largest cost per task.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from tasktrack.storage.dialect import Row, Statement
from tasktrack.storage.merging import merge_slots
from tasktrack.storage.postgres.connection import PostgresDatabase, pg_sql, returns_rows

log = logging.getLogger("tasktrack.storage")

#: Most writes one transaction carries.
MAX_BATCH = 64

_RunAlone = Callable[[Statement], Awaitable[Row | None]]
#: Builds one statement from several writes' values; the first value of each is its key,
#: which the statement returns as the first column of that write's row.
Merge = Callable[[Sequence[Any]], Statement]


@dataclass(slots=True, eq=False)
class _Write:
    statement: Statement  # the write on its own (also the fallback of a merged one)
    merge: Merge | None
    values: Any  # what ``merge`` takes of this write
    future: asyncio.Future[Row | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommit:
    """Single statements of one event loop, committed in batches (see the module doc)."""

    def __init__(self, db: PostgresDatabase, run_alone: _RunAlone) -> None:
        """``run_alone`` runs one statement in autocommit and returns its first row (the
        fallback when a batch fails)."""
        self._db = db
        self._run_alone = run_alone
        self._pending: list[_Write] = []
        self._flusher: asyncio.Task[None] | None = None

    async def first_row(
        self, statement: Statement, merge: Merge | None = None, values: Any = None
    ) -> Row | None:
        """Run ``statement`` (with the writes that arrive meanwhile); its first row. With
        ``merge``, it may run as part of one statement ``merge`` builds from the ``values``
        of the same kind of writes in the batch."""
        write = _Write(statement, merge, values)
        self._pending.append(write)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await write.future

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            live = [w for w in batch if not w.future.done()]  # a cancelled caller's: skipped
            if not live:
                continue
            if len(live) == 1:
                await self._alone(live[0])
                continue
            try:
                rows = await self._together(live)
            except Exception:
                # One bad statement aborts the transaction: each runs again on its own, so
                # it alone fails (nothing of the batch was committed). Should the failure
                # have come after the COMMIT took effect (a connection lost at that very
                # moment), a fenced move run again matches nothing and its caller hears
                # "lease lost" for a write that stands: it logs, and the outcome is kept.
                log.debug("a group commit of %d writes failed; running each alone", len(live))
                for write in live:
                    await self._alone(write)
                continue
            for write, row in zip(live, rows, strict=True):
                if not write.future.done():
                    write.future.set_result(row)

    async def _together(self, writes: list[_Write]) -> list[Row | None]:
        parts = _plan(writes)
        async with self._db.connection() as con:
            if len(parts) == 1:  # one merged statement: atomic alone, in autocommit
                cursors = [await con.execute(pg_sql(parts[0][0][0]), parts[0][0][1])]
            else:  # pipeline outermost: BEGIN, the statements and COMMIT in one round trip
                async with con.pipeline(), con.transaction():
                    cursors = [await con.execute(pg_sql(s), args) for (s, args), _, _ in parts]
            answers: dict[int, Row | None] = {}
            for cursor, (_, members, merged) in zip(cursors, parts, strict=True):
                if not merged:
                    answers[id(members[0])] = await _first_of(cursor)
                    continue
                by_key = {row[0]: row for row in await cursor.fetchall()}
                for write in members:
                    answers[id(write)] = by_key.get(write.values[0])
            return [answers[id(write)] for write in writes]

    async def _alone(self, write: _Write) -> None:
        try:
            row = await self._run_alone(write.statement)
        except Exception as exc:
            if not write.future.done():
                write.future.set_exception(exc)
            return
        if not write.future.done():
            write.future.set_result(row)


def _plan(writes: list[_Write]) -> list[tuple[Statement, list[_Write], bool]]:
    """The batch's statements in arrival order (:func:`merge_slots`), each with the writes it
    answers and whether it is merged."""
    parts: list[tuple[Statement, list[_Write], bool]] = []
    for members in merge_slots(writes, lambda w: w.merge, lambda w: w.values[0]):
        merge = members[0].merge
        if merge is not None and len(members) > 1:
            parts.append((merge([w.values for w in members]), members, True))
        else:
            parts.append((members[0].statement, members, False))
    return parts


async def _first_of(cursor: psycopg.AsyncCursor[Any]) -> Row | None:
    return await cursor.fetchone() if returns_rows(cursor) else None
