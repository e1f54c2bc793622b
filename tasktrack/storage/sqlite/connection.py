"""SQLite connections: one writer thread, thread-local readers, durable commits.

SQLite admits one writer at a time, so every write runs on a single dedicated thread (no
SQLITE_BUSY between our own writes, and the event loop never waits on an fsync). Reads use a
connection per thread: a primary-key read is a few microseconds, so ``get`` runs inline on the
event loop's thread rather than paying a thread hop; longer reads (lists) go to a small pool.
WAL lets readers run while the writer commits. Other processes (a separate worker) are
serialised by ``BEGIN IMMEDIATE`` and ``busy_timeout``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from tasktrack.errors import StorageError
from tasktrack.storage.migrate import pending

T = TypeVar("T")
SYNCHRONOUS_LEVELS = ("FULL", "EXTRA", "NORMAL", "OFF")


class SQLiteDatabase:
    """Owns the file, its connections and its threads."""

    def __init__(self, path: str, synchronous: str = "FULL", busy_timeout_ms: int = 10_000) -> None:
        if synchronous.upper() not in SYNCHRONOUS_LEVELS:
            raise ValueError(f"synchronous must be one of {', '.join(SYNCHRONOUS_LEVELS)}")
        self.path = path
        self.synchronous = synchronous.upper()
        self.busy_timeout_ms = busy_timeout_ms
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="tasktrack-sqlite-writer")
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

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in one IMMEDIATE transaction on the writer thread; commit before return."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, self._transaction, fn)

    def write_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """The same as :meth:`write`, for callers without an event loop."""
        return self._writer.submit(self._transaction, fn).result()

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

    def _transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        con = self.connection()
        try:
            con.execute("BEGIN IMMEDIATE")
            result = fn(con)
            con.execute("COMMIT")
            return result
        except BaseException as exc:
            if con.in_transaction:
                con.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StorageError(f"SQLite write failed: {exc}") from exc
            raise

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        with self._all_lock:
            for con in self._all:
                con.close()
            self._all.clear()
        self._local = threading.local()


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
