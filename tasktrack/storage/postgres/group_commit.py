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
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg

from tasktrack.storage.dialect import Row, Statement
from tasktrack.storage.postgres.connection import PostgresDatabase, pg_sql, returns_rows

log = logging.getLogger("tasktrack.storage")

#: Most writes one transaction carries.
MAX_BATCH = 64

_Pending = tuple[Statement, "asyncio.Future[Row | None]"]
_RunAlone = Callable[[Statement], Awaitable[Row | None]]


class GroupCommit:
    """Single statements of one event loop, committed in batches (see the module doc)."""

    def __init__(self, db: PostgresDatabase, run_alone: _RunAlone) -> None:
        """``run_alone`` runs one statement in autocommit and returns its first row (the
        fallback when a batch fails)."""
        self._db = db
        self._run_alone = run_alone
        self._pending: list[_Pending] = []
        self._flusher: asyncio.Task[None] | None = None

    async def first_row(self, statement: Statement) -> Row | None:
        """Run ``statement`` (with the writes that arrive meanwhile); its first row."""
        future: asyncio.Future[Row | None] = asyncio.get_running_loop().create_future()
        self._pending.append((statement, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            live = [(s, f) for s, f in batch if not f.done()]  # a cancelled caller's write: skipped
            if not live:
                continue
            if len(live) == 1:
                await self._alone(*live[0])
                continue
            try:
                rows = await self._together([s for s, _ in live])
            except Exception:
                # One bad statement aborts the transaction: each runs again on its own, so
                # it alone fails (nothing of the batch was committed). Should the failure
                # have come after the COMMIT took effect (a connection lost at that very
                # moment), a fenced move run again matches nothing and its caller hears
                # "lease lost" for a write that stands: it logs, and the outcome is kept.
                log.debug("a group commit of %d writes failed; running each alone", len(live))
                for statement, future in live:
                    await self._alone(statement, future)
                continue
            for (_, future), row in zip(live, rows, strict=True):
                if not future.done():
                    future.set_result(row)

    async def _together(self, statements: list[Statement]) -> list[Row | None]:
        # Pipeline outermost: BEGIN, the statements and COMMIT go in one round trip.
        async with self._db.connection() as con:
            async with con.pipeline(), con.transaction():
                cursors = [await con.execute(pg_sql(sql), args) for sql, args in statements]
            return [await _first_of(cursor) for cursor in cursors]

    async def _alone(self, statement: Statement, future: asyncio.Future[Row | None]) -> None:
        try:
            row = await self._run_alone(statement)
        except Exception as exc:
            if not future.done():
                future.set_exception(exc)
            return
        if not future.done():
            future.set_result(row)


async def _first_of(cursor: psycopg.AsyncCursor[Any]) -> Row | None:
    return await cursor.fetchone() if returns_rows(cursor) else None
