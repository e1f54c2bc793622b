"""PostgreSQL connections: a psycopg 3 async pool, migrations, and the LISTEN channel.

One pool serves every query of a process; one extra connection LISTENs, so an idle worker
wakes when any process queues work and a waiter hears when any process changes a task.
If that connection drops, waits fall back to their timeouts (polling) while it reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.pq import ExecStatus
from psycopg_pool import AsyncConnectionPool

from tasktrack.errors import InvalidArgument, StorageError
from tasktrack.storage.events import LocalEvents
from tasktrack.storage.migrate import Migration, pending

log = logging.getLogger("tasktrack.storage")

#: Serialises migrations across processes (any fixed 64-bit number works).
MIGRATION_LOCK = 0x7461736B74726B  # "tasktrk"
CHANNELS = ("tasktrack_queued", "tasktrack_changed", "tasktrack_identity")
#: The session settings of claim connections. The claim must read the queue in index order
#: (tasks_claim), a few rows per call. Statistics taken while few tasks were queued (a fresh
#: table, or a quiet spell before a burst) make the planner pick a bitmap scan that sorts
#: *every* queued row instead: 5 ms per claim at 10,000 queued, O(queue) per claim.
#: Forbidding the sort keeps the claim O(limit) whatever the statistics say. JIT goes off
#: too: were a sort ever unavoidable (the claim index dropped), the disabled sort's huge
#: price would also buy tens of milliseconds of JIT compiling for a sub-millisecond
#: statement. They are set on connections of their own, once per session, so that a claim
#: is one autocommit statement rather than BEGIN, SET LOCAL, claim and COMMIT in a pipeline
#: (which cost the worker about as much CPU as everything else it does for a task).
CLAIM_SETTINGS = {"enable_sort": "off", "jit": "off"}


@functools.lru_cache(maxsize=512)
def pg_sql(sql: str) -> str:
    """``sql`` with psycopg's ``%s`` placeholders (cached: the same texts recur)."""
    return sql.replace("?", "%s")


def returns_rows(cursor: psycopg.AsyncCursor[Any]) -> bool:
    """Whether the cursor's last statement produced rows to fetch: ``cursor.description is
    not None`` without building its ``Column`` objects (one per column, on every access:
    ~7 % of a draining worker's event loop, for the 25 columns of ``RETURNING *``)."""
    result = cursor.pgresult
    return result is not None and (result.nfields > 0 or result.status == ExecStatus.TUPLES_OK)


def with_settings(url: str, settings: dict[str, str]) -> str:
    """``url`` whose sessions start with ``settings`` (libpq ``options``; any kept)."""
    params = conninfo_to_dict(url)
    extra = " ".join(f"-c {name}={value}" for name, value in settings.items())
    params["options"] = f"{params.get('options') or ''} {extra}".strip()
    return make_conninfo("", **params)


class PostgresDatabase:
    """Owns the pool and the listener of one database."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.url = url
        self.pool = AsyncConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            open=False,
            kwargs={"autocommit": True},
            name="tasktrack",
        )
        self.events = LocalEvents()
        self._listener: asyncio.Task[None] | None = None
        #: Moves on every ``tasktrack_identity`` notification and on every (re)connection of
        #: the listener; None while it is not listening, when nothing may be cached on it.
        self.identity_epoch: int | None = None
        self._identity_notes = 0
        #: Opened by the first claim: API processes never claim, so never hold these.
        self._claim_pool: AsyncConnectionPool | None = None
        self._claim_pool_lock = asyncio.Lock()

    async def open(self) -> None:
        try:
            # One plain connection first: it fails fast with libpq's own reason, where the
            # pool would retry quietly until its timeout.
            probe = await psycopg.AsyncConnection.connect(self.url, connect_timeout=5)
            await probe.close()
        except psycopg.Error as exc:
            await self.pool.close()
            reason = " ".join(str(exc).split())  # libpq's reason spans lines: keep one
            raise StorageError(f"cannot connect to PostgreSQL: {reason}") from exc
        try:
            await self.pool.open(wait=True, timeout=10)
        except Exception as exc:
            await self.pool.close()
            raise StorageError(f"cannot connect to PostgreSQL: {exc}") from exc

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._claim_pool is not None:
            await self._claim_pool.close()
        await self.pool.close()

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        async with _storage_errors(), self.pool.connection() as con:
            yield con

    @contextlib.asynccontextmanager
    async def claim_connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        """An autocommit connection whose session plans claims (see ``CLAIM_SETTINGS``)."""
        async with _storage_errors():
            pool = self._claim_pool or await self._open_claim_pool()
            async with pool.connection() as con:
                yield con

    async def _open_claim_pool(self) -> AsyncConnectionPool:
        async with self._claim_pool_lock:
            if self._claim_pool is None:
                pool = AsyncConnectionPool(
                    with_settings(self.url, CLAIM_SETTINGS),
                    min_size=1,
                    max_size=2,  # a worker claims from one loop; the second covers overlap
                    open=False,
                    kwargs={"autocommit": True},
                    name="tasktrack-claim",
                )
                await pool.open(wait=True, timeout=10)
                self._claim_pool = pool
            return self._claim_pool

    # -- migrations -----------------------------------------------------------------------

    async def schema_version(self) -> int:
        async with self.connection() as con:
            row = await (await con.execute("SELECT to_regclass('tasktrack_schema')")).fetchone()
            if row is None or row[0] is None:
                return 0
            row = await (await con.execute("SELECT max(version) FROM tasktrack_schema")).fetchone()
            return int(row[0] or 0) if row else 0

    async def upgrade(self) -> list[Migration]:
        """Apply pending migrations in one transaction, under an advisory lock so that
        processes starting together apply each migration once. Returns what was applied."""
        async with self.connection() as con, con.transaction():
            await con.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            await con.execute(
                "CREATE TABLE IF NOT EXISTS tasktrack_schema (version integer NOT NULL)"
            )
            row = await (await con.execute("SELECT max(version) FROM tasktrack_schema")).fetchone()
            todo = pending("postgres", int(row[0] or 0) if row else 0)
            for mig in todo:
                await con.execute(mig.sql.encode())  # several statements, no parameters
                await con.execute(
                    "INSERT INTO tasktrack_schema (version) VALUES (%s)", (mig.version,)
                )
            return todo

    # -- notifications --------------------------------------------------------------------

    def listen(self) -> None:
        """Start the LISTEN loop (idempotent; needs a running event loop)."""
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._listen_forever())

    async def _listen_forever(self) -> None:
        delay = 0.5
        while True:
            try:
                con = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
                async with con:
                    for channel in CHANNELS:
                        await con.execute(f"LISTEN {channel}")
                    delay = 0.5
                    # Anything may have changed while we were not listening.
                    self.events.wake_all()
                    self._identity_changed()
                    async for note in con.notifies():
                        if note.channel == "tasktrack_queued":
                            self.events.wake_queued()
                        elif note.channel == "tasktrack_identity":
                            self._identity_changed()
                        else:
                            self.events.touch(note.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("PostgreSQL LISTEN connection lost (%s); retrying in %.1fs", exc, delay)
            finally:
                # Not listening: a notification could be missed, so nothing may be cached.
                self.identity_epoch = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    def _identity_changed(self) -> None:
        self._identity_notes += 1
        self.identity_epoch = self._identity_notes


@contextlib.asynccontextmanager
async def _storage_errors() -> AsyncIterator[None]:
    """psycopg's errors as the store's own."""
    try:
        yield
    except psycopg.DataError as exc:
        # e.g. a NUL character, which PostgreSQL text cannot hold: the caller's input.
        raise InvalidArgument(f"value cannot be stored: {exc}") from exc
    except psycopg.Error as exc:
        raise StorageError(f"PostgreSQL failed: {exc}") from exc
