"""The SQLite writer thread: group commit, isolation of failing writes, cancelled callers."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from tasktrack.errors import DatabaseBusy, StorageError
from tasktrack.storage.sqlite.connection import SQLiteDatabase
from tasktrack.storage.sqlite.dialect import SQLiteDialect


@pytest.fixture
def db(tmp_path: Path) -> SQLiteDatabase:
    database = SQLiteDatabase(str(tmp_path / "w.db"))
    database.upgrade()
    database.write_sync(lambda con: con.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)"))
    yield database  # type: ignore[misc]
    database.close()


def _insert(x: int):  # type: ignore[no-untyped-def]
    return lambda con: con.execute("INSERT INTO t VALUES (?)", (x,)).rowcount


async def test_a_failing_write_rolls_back_alone(db: SQLiteDatabase) -> None:
    results = await asyncio.gather(
        db.write(_insert(1)),
        db.write(_insert(1)),
        db.write(_insert(2)),
        return_exceptions=True,
    )
    assert results[0] == 1 and results[2] == 1
    assert isinstance(results[1], StorageError)
    rows = db.read_inline(lambda con: con.execute("SELECT x FROM t ORDER BY x").fetchall())
    assert rows == [(1,), (2,)]


async def test_cancelled_callers_do_not_kill_the_writer(db: SQLiteDatabase) -> None:
    # Cancel many callers while their writes wait in the queue: the writer must skip or
    # finish them and keep serving everyone after.
    for round_ in range(20):
        pending = [asyncio.ensure_future(db.write(_insert(round_ * 100 + i))) for i in range(50)]
        await asyncio.sleep(0)
        for p in pending[::2]:
            p.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    assert await asyncio.wait_for(db.write(_insert(10**6)), 5) == 1


async def test_results_arrive_only_after_commit(db: SQLiteDatabase, tmp_path: Path) -> None:
    await db.write(_insert(7))
    # A separate connection (another process, in effect) sees the row once write() returned.
    other = sqlite3.connect(str(tmp_path / "w.db"))
    try:
        assert other.execute("SELECT x FROM t").fetchall() == [(7,)]
    finally:
        other.close()


async def test_a_lock_held_past_the_busy_timeout_is_a_busy_error_then_writes_resume(
    tmp_path: Path,
) -> None:
    db = SQLiteDatabase(str(tmp_path / "busy.db"), busy_timeout_ms=100)
    db.upgrade()
    db.write_sync(lambda con: con.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)"))
    other = sqlite3.connect(str(tmp_path / "busy.db"), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        with pytest.raises(DatabaseBusy, match="locked"):
            await db.write(_insert(1))
        other.execute("COMMIT")
        assert await db.write(_insert(2)) == 1
        assert [x for (x,) in other.execute("SELECT x FROM t")] == [2]  # nothing half-written
    finally:
        other.close()
        db.close()


async def test_a_write_waits_for_another_process_s_lock_and_lands_when_it_is_released(
    db: SQLiteDatabase,
) -> None:
    """The writer waits for another connection's write lock itself (short tries, not SQLite's
    millisecond sleeps) and commits once the lock is free, within ``busy_timeout_ms``."""
    other = sqlite3.connect(db.path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        other.execute("INSERT INTO t VALUES (1)")
        pending = asyncio.ensure_future(db.write(_insert(2)))
        await asyncio.sleep(0.05)  # long enough for the writer to meet the lock
        assert not pending.done()  # it waits rather than failing or writing past the lock
        other.execute("COMMIT")
        assert await asyncio.wait_for(pending, 5) == 1
        assert [x for (x,) in other.execute("SELECT x FROM t ORDER BY x")] == [1, 2]
    finally:
        other.close()


async def test_groups_carry_several_writes_under_concurrency(db: SQLiteDatabase) -> None:
    commits: list[int] = []
    original = db._commit_group

    def counting(group):  # type: ignore[no-untyped-def]
        commits.append(len(group))
        return original(group)

    db._commit_group = counting  # type: ignore[method-assign]
    await db.write(_insert(0))
    assert await asyncio.gather(*(db.write(_insert(x)) for x in range(1, 41))) == [1] * 40
    # 40 concurrent writers: far fewer than 40 commits (group commit).
    assert len(commits) < 20 and sum(commits) == 41


def _prime_concurrent(db: SQLiteDatabase, commits: list[int], first: int = 100) -> None:
    """Leave the writer as after a commit of several writes (concurrent writers), so the
    next group waits :data:`GROUP_WINDOW` for company; ``commits`` records group sizes."""
    original = db._commit_group

    def counting(group):  # type: ignore[no-untyped-def]
        commits.append(len(group))
        return original(group)

    db._commit_group = counting  # type: ignore[method-assign]
    held, release = threading.Event(), threading.Event()

    def blocker(con: sqlite3.Connection) -> None:
        held.set()
        release.wait(10)

    blocked = db._submit(blocker)
    held.wait(10)
    queued = [db._submit(_insert(x)) for x in (first, first + 1)]  # both behind the blocker
    release.set()
    for future in (blocked, *queued):
        future.result(10)
    assert commits[-1] == 2  # one group of two: the writer now expects company


async def test_a_write_among_concurrent_writers_waits_for_company(
    db: SQLiteDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tasktrack.storage.sqlite.connection.GROUP_WINDOW", 2.0)
    commits: list[int] = []
    _prime_concurrent(db, commits)
    first = asyncio.ensure_future(db.write(_insert(1)))
    await asyncio.sleep(0.05)  # inside the window: the first has not committed alone
    assert not first.done()
    assert await db.write(_insert(2)) == 1 and await first == 1
    assert commits[-1] == 2  # the two shared a commit


async def test_an_urgent_write_does_not_wait_for_the_window(
    db: SQLiteDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker's claim: its children may be idle until it commits. With a window far
    # longer than the deadline below, only an urgent write can make it.
    monkeypatch.setattr("tasktrack.storage.sqlite.connection.GROUP_WINDOW", 30.0)
    _prime_concurrent(db, [])
    async with asyncio.timeout(10):
        assert await db.write(_insert(1), urgent=True) == 1


async def test_the_dialects_claims_are_urgent_writes(
    db: SQLiteDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the worker's claim loop calls: both claim paths must skip the window.
    monkeypatch.setattr("tasktrack.storage.sqlite.connection.GROUP_WINDOW", 30.0)
    dialect = SQLiteDialect(db)
    _prime_concurrent(db, [])
    async with asyncio.timeout(10):
        assert await dialect.claim(("SELECT 7", ())) == [(7,)]

    def steps():  # type: ignore[no-untyped-def]
        rows = yield ("SELECT 8", ())
        return rows

    _prime_concurrent(db, [], first=200)
    async with asyncio.timeout(10):
        assert await dialect.claim_steps(steps()) == [(8,)]


async def test_a_large_failing_write_rolls_back_whole_with_its_journal_in_memory(
    db: SQLiteDatabase,
) -> None:
    """The writer keeps its savepoint and statement journals in memory (``temp_store``; by
    default SQLite spills them to a temporary file past 64 KiB, which cost every task write
    an open and ~16 page writes). A write that dirtied megabytes and then fails still rolls
    back whole, and the write committed beside it stays."""
    await db.write(lambda con: con.execute("CREATE TABLE big (x INTEGER PRIMARY KEY, b BLOB)"))

    def big_then_fail(con: sqlite3.Connection) -> None:
        con.executemany("INSERT INTO big VALUES (?, ?)", ((x, b"\x01" * 2000) for x in range(4000)))
        raise RuntimeError("the handler changed its mind")

    results = await asyncio.gather(
        db.write(big_then_fail), db.write(_insert(7)), return_exceptions=True
    )
    assert isinstance(results[0], RuntimeError) and results[1] == 1
    assert db.read_inline(lambda con: con.execute("SELECT count(*) FROM big").fetchone()) == (0,)
    assert db.read_inline(lambda con: con.execute("SELECT x FROM t").fetchall()) == [(7,)]
    assert db.write_sync(lambda con: con.execute("PRAGMA temp_store").fetchone()) == (2,)


async def test_a_lone_write_that_fails_half_way_leaves_nothing(db: SQLiteDatabase) -> None:
    """A write alone in its commit runs without a savepoint: its failure must still undo
    every statement it ran, and the writer must go on."""

    def two_inserts_then_a_duplicate(con: sqlite3.Connection) -> None:
        con.execute("INSERT INTO t VALUES (1)")
        con.execute("INSERT INTO t VALUES (2)")
        con.execute("INSERT INTO t VALUES (1)")

    with pytest.raises(StorageError, match="UNIQUE"):
        await db.write(two_inserts_then_a_duplicate)
    assert db.read_inline(lambda con: con.execute("SELECT count(*) FROM t").fetchone()) == (0,)
    assert await db.write(_insert(3)) == 1
    assert db.read_inline(lambda con: con.execute("SELECT x FROM t").fetchall()) == [(3,)]


def test_a_write_whose_event_loop_is_gone_does_not_stop_the_writer(db: SQLiteDatabase) -> None:
    """The writer answers an event loop's caller through that loop; a loop closed while its
    write ran (a CLI command that gave up) must not end the writer thread."""
    held, release = threading.Event(), threading.Event()

    def blocker(con: sqlite3.Connection) -> int:
        held.set()
        release.wait(10)
        return con.execute("INSERT INTO t VALUES (50)").rowcount

    async def start_then_leave() -> None:
        task = asyncio.ensure_future(db.write(blocker))
        await asyncio.get_running_loop().run_in_executor(None, held.wait, 10)
        task.cancel()

    asyncio.run(start_then_leave())  # returns with the loop closed, the write still running
    release.set()
    assert db._submit(_insert(51)).result(10) == 1  # answered: the writer survived
    rows = db.read_inline(lambda con: con.execute("SELECT x FROM t ORDER BY x").fetchall())
    assert rows == [(50,), (51,)]  # the abandoned write committed, as a write once begun does


async def test_a_lone_write_whose_error_ended_the_transaction_gets_its_own_error(
    db: SQLiteDatabase,
) -> None:
    """Some errors end the transaction themselves (a trigger's ``RAISE(ROLLBACK)``, a full
    disk): the caller must hear that error, not a failed rollback, and the writer go on."""
    await db.write(
        lambda con: con.execute(
            "CREATE TRIGGER no_666 BEFORE INSERT ON t WHEN NEW.x = 666 "
            "BEGIN SELECT RAISE(ROLLBACK, 'no 666 here'); END"
        )
    )
    with pytest.raises(StorageError, match="no 666 here"):
        await db.write(_insert(666))
    assert await db.write(_insert(7)) == 1
    assert db.read_inline(lambda con: con.execute("SELECT x FROM t").fetchall()) == [(7,)]


async def test_a_write_cancelled_while_it_waits_in_the_queue_is_not_run(
    db: SQLiteDatabase,
) -> None:
    """A caller that gives up before the writer takes its write (a request cut short) leaves
    nothing behind; the writes around it land."""
    held, release = threading.Event(), threading.Event()

    def blocker(con: sqlite3.Connection) -> None:
        held.set()
        release.wait(10)

    blocked = db._submit(blocker)
    await asyncio.get_running_loop().run_in_executor(None, held.wait, 10)
    before, given_up, after = (asyncio.ensure_future(db.write(_insert(x))) for x in (1, 2, 3))
    await asyncio.sleep(0)  # all three are queued behind the blocker
    given_up.cancel()
    release.set()
    blocked.result(10)
    assert await before == 1 and await after == 1
    with pytest.raises(asyncio.CancelledError):
        await given_up
    rows = db.read_inline(lambda con: con.execute("SELECT x FROM t ORDER BY x").fetchall())
    assert rows == [(1,), (3,)]
