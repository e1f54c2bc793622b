"""SQLite connections: one writer thread, thread-local readers, durable commits.

SQLite admits one writer at a time, so every write runs on a single dedicated thread (no
SQLITE_BUSY between our own writes, and the event loop never waits on an fsync). That thread
*group-commits*: it takes every write waiting in its queue, runs each inside its own SAVEPOINT
(so one failing write rolls back alone) and commits them with one fsync. Callers hear back
only after the commit, so a reply still means "durable"; under load, many task transitions
share one fsync instead of paying one each. Reads use a
connection per thread: a primary-key read is a few microseconds, so ``get`` runs inline on the
event loop's thread rather than paying a thread hop; longer reads (lists) go to a small pool.
WAL lets readers run while the writer commits. Other processes (a separate worker) are
serialised by ``BEGIN IMMEDIATE``, which the writer retries in short steps for up to
``busy_timeout`` (:meth:`SQLiteDatabase._begin`).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from tasktrack.errors import DatabaseBusy, StorageError
from tasktrack.storage.merging import merge_slots
from tasktrack.storage.migrate import pending
from tasktrack.storage.sqlite.files import make_private
from tasktrack.storage.sqlite.jobs import (
    Job,
    Mergeable,
    Outcome,
    answer,
    key,
    kind,
    run_alone,
    run_bare,
    run_merged,
    wanted,
)

log = logging.getLogger("tasktrack.storage")
T = TypeVar("T")
SYNCHRONOUS_LEVELS = ("FULL", "EXTRA", "NORMAL", "OFF")
#: Most writes one commit carries; bounds how long the first one waits for the fsync.
MAX_GROUP = 256
#: Group-commit window (seconds). When the last commit carried several writes (writers are
#: concurrent: a worker settling while it claims, an API under load), the writer waits this
#: long for more before it begins, as PostgreSQL's ``commit_delay`` does: a commit's cost
#: is mostly per commit (the fsync, and the WAL frames of every index page it dirtied), so
#: a group of 8 costs little more than a group of 2. A lone writer (one sequential
#: producer) never waits, nor does a group once an *urgent* write (a worker's claim: its
#: children may be idle until it commits) is in it.
GROUP_WINDOW = 0.002


class SQLiteDatabase:
    """Owns the file, its connections and its threads."""

    def __init__(self, path: str, synchronous: str = "FULL", busy_timeout_ms: int = 10_000) -> None:
        if synchronous.upper() not in SYNCHRONOUS_LEVELS:
            raise ValueError(f"synchronous must be one of {', '.join(SYNCHRONOUS_LEVELS)}")
        self.path = path
        self.synchronous = synchronous.upper()
        self.busy_timeout_ms = busy_timeout_ms
        if path != ":memory:":
            make_private(path)
        self._local = threading.local()
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._writer = threading.Thread(
            target=self._write_loop, name="tasktrack-sqlite-writer", daemon=True
        )
        self._writer_started = False
        self._writer_tuned = False  # the writer thread's connection has its own pragmas
        self._start_lock = threading.Lock()
        self._readers = ThreadPoolExecutor(2, thread_name_prefix="tasktrack-sqlite-reader")
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=self.busy_timeout_ms / 1000,
            )
            con.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            con.execute("PRAGMA journal_mode = WAL")
            con.execute(f"PRAGMA synchronous = {self.synchronous}")
            con.execute("PRAGMA foreign_keys = ON")
            # Unicode-aware lower(), for the case-insensitive name filter.
            con.create_function("tt_lower", 1, _lower, deterministic=True)
            self._local.con = con
            with self._all_lock:
                self._all.append(con)
        return con

    def upgrade(self) -> int:
        """Create or upgrade the schema in place; returns the version now applied."""
        con = self.connection()
        try:
            con.execute("BEGIN IMMEDIATE")
            con.execute("CREATE TABLE IF NOT EXISTS tasktrack_schema (version INTEGER NOT NULL)")
            row = con.execute("SELECT max(version) FROM tasktrack_schema").fetchone()
            current = int(row[0] or 0)
            todo = pending("sqlite", current)
            for mig in todo:
                for statement in _statements(mig.sql):
                    con.execute(statement)
                con.execute("INSERT INTO tasktrack_schema (version) VALUES (?)", (mig.version,))
                current = mig.version
            con.execute("COMMIT")
            return current
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise

    def schema_version(self) -> int:
        con = self.connection()
        try:
            row = con.execute("SELECT max(version) FROM tasktrack_schema").fetchone()
        except sqlite3.OperationalError:
            return 0
        return int(row[0] or 0)

    def probe_version(self) -> int:
        """The schema version, read through a new read-only connection to the path.

        Not this object's connections: an open connection keeps reading a file that was
        deleted or replaced, so only opening the path again shows that it is gone or is no
        longer our database. ``mode=ro`` never creates a missing file.
        """
        uri = f"file:{urllib.parse.quote(self.path)}?mode=ro"
        try:
            con = sqlite3.connect(uri, uri=True, timeout=self.busy_timeout_ms / 1000)
            try:
                row = con.execute("SELECT max(version) FROM tasktrack_schema").fetchone()
            finally:
                con.close()
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite database {self.path} cannot be read: {exc}") from exc
        return int(row[0] or 0)

    async def write(
        self,
        fn: Callable[[sqlite3.Connection], T],
        urgent: bool = False,
        merge: Mergeable | None = None,
    ) -> T:
        """Run ``fn`` atomically on the writer thread; returns once it is committed.
        ``urgent``: someone waits on it (a claim), so its commit does not wait for company
        (:data:`GROUP_WINDOW`). ``merge``: it may run as one statement with the writes of
        its kind in the same group (``fn`` is then what runs if the merged one fails)."""
        # An asyncio future the writer answers itself (:func:`jobs.answer`), not a
        # ``concurrent.futures.Future`` chained to one by ``wrap_future``: that bridge (a
        # condition variable, two callbacks and one loop wake-up per write) was ~8 % of the
        # writer thread's time at thousands of writes a second.
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._enqueue((fn, future, urgent, merge))
        return await future

    def write_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """The same as :meth:`write`, for callers without an event loop."""
        return self._submit(fn).result()

    def _submit(self, fn: Callable[[sqlite3.Connection], T]) -> Future[T]:
        """Queue ``fn`` for a thread without an event loop; its future."""
        future: Future[T] = Future()
        self._enqueue((fn, future, False, None))
        return future

    def _enqueue(self, job: Job) -> None:
        if not self._writer_started:
            with self._start_lock:
                if not self._writer_started:
                    self._writer.start()
                    self._writer_started = True
        self._queue.put(job)

    def _write_loop(self) -> None:
        # Nothing may end this thread but the sentinel: every write after it would hang.
        concurrent = False  # the last group carried several writes
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            stop = False
            urgent = first[2]
            deadline = time.monotonic() + GROUP_WINDOW if concurrent else 0.0
            while len(group) < MAX_GROUP:
                try:
                    left = 0.0 if urgent else deadline - time.monotonic()
                    job = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stop = True
                    break
                group.append(job)
                urgent = urgent or job[2]
            concurrent = len(group) > 1
            # A write whose caller was cancelled while it waited is skipped. (One cancelled
            # from here on still runs; its caller has stopped listening, as with a commit
            # that lands just after a timeout.)
            group = [job for job in group if wanted(job[1])]
            if group:
                try:
                    outcomes = self._commit_group(group)
                except BaseException as exc:  # pragma: no cover - a bug; keep serving
                    log.exception("SQLite writer failed")
                    failed = StorageError(f"SQLite writer failed: {exc}")
                    outcomes = [(False, failed)] * len(group)
                answer(group, outcomes)
            if stop:
                return

    def _commit_group(self, group: list[Job]) -> list[Outcome]:
        """Run and commit ``group``; each job's outcome, in order."""
        con = self.connection()
        # Writes sharing a group run in SAVEPOINTs, and a statement that fires triggers or
        # checks foreign keys keeps a statement journal: the page images to roll either back.
        # SQLite holds that journal in memory only up to 64 KiB, then spills it to a file,
        # and one task's INSERT dirties ~20 pages (18 indexes): every write paid an open()
        # and ~16 page writes to a throwaway file, ~110 us of CPU of a ~340 us INSERT
        # (bench/README.md, "Stop 23"). In memory the journal is bounded by one group's
        # pages. Readers keep the default: a big sort may still spill to disk.
        if not self._writer_tuned:
            con.execute("PRAGMA temp_store = MEMORY")
            con.execute("PRAGMA busy_timeout = 0")  # _begin waits instead (why: there)
            self._writer_tuned = True
        outcomes: dict[int, Outcome] = {}
        try:
            self._begin(con)
            if len(group) == 1:
                # Alone, a write needs no savepoint: its failure rolls the transaction back.
                # (Some errors end the transaction themselves: then there is none to roll back.)
                outcome = run_bare(con, group[0])
                if outcome[0]:
                    con.execute("COMMIT")
                elif con.in_transaction:
                    con.execute("ROLLBACK")
                return [outcome]
            for slot in merge_slots(group, kind, key):
                if len(slot) > 1:
                    outcomes.update(run_merged(con, slot))
                else:
                    outcomes[id(slot[0])] = run_alone(con, slot[0])
            con.execute("COMMIT")
        except BaseException as exc:  # the commit itself failed: nobody's write is durable
            if con.in_transaction:
                con.execute("ROLLBACK")
            busy = getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY
            error = (DatabaseBusy if busy else StorageError)(f"SQLite commit failed: {exc}")
            return [(False, error)] * len(group)
        return [outcomes[id(job)] for job in group]

    def _begin(self, con: sqlite3.Connection) -> None:
        """``BEGIN IMMEDIATE``, waiting up to ``busy_timeout_ms`` for another process's write.

        Why not SQLite's busy timeout: its handler sleeps 1, 2, 5, 10, 15, 20, 25 ... ms
        between tries, while another tasktrack process (a separate worker, a second API
        process) holds the write lock for well under a millisecond per commit; a producer and
        a worker writing at once lost milliseconds per write to those sleeps. Here the tries
        start 0.1 ms apart and back off to 2 ms. Readers keep SQLite's handler.
        """
        deadline = time.monotonic() + self.busy_timeout_ms / 1000
        delay = 0.0001
        while True:
            try:
                con.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                # The primary code: a WAL recovery in progress is SQLITE_BUSY_RECOVERY.
                busy = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF == sqlite3.SQLITE_BUSY
                if not busy or time.monotonic() >= deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.002)

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on a reader thread (for reads that may take more than microseconds)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._read, fn)

    def read_inline(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run a short read on the calling thread."""
        return self._read(fn)

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        try:
            return fn(self.connection())
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite read failed: {exc}") from exc

    def close(self) -> None:
        if self._writer_started:
            self._queue.put(None)
            self._writer.join()
        self._readers.shutdown(wait=True)
        with self._all_lock:
            for con in self._all:
                con.close()
            self._all.clear()
        self._local = threading.local()


def _lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


def _statements(script: str) -> list[str]:
    """Split a migration into statements with SQLite's own completeness check."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        if not buf and line.strip().startswith("--"):
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
