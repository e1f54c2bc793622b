"""What the one SQL store needs from a database: the few things SQLite and PostgreSQL do
differently, and small verbs to run statements.

The stores (:mod:`~tasktrack.storage.sql_store`, :mod:`~tasktrack.storage.sql_identity`)
build every statement, with ``?`` placeholders, from the lifecycle table; a dialect only
runs them. The verbs say how much work a statement is, so each dialect can run it its
cheapest way (SQLite: key lookups inline on the event loop's thread, writes on its
group-commit writer thread; PostgreSQL: one pooled connection, a transaction only where
several statements must be atomic).
"""

from __future__ import annotations

from collections.abc import Collection, Generator, Iterable, Sequence
from typing import Any, Protocol

from tasktrack.domain.task import Task
from tasktrack.errors import StorageError

#: SQL text with ``?`` placeholders, and its arguments.
Statement = tuple[str, tuple[Any, ...]]
Row = Sequence[Any]
#: A conditional ``UPDATE tasks ... RETURNING *`` and what it writes beside the rows it moved:
#: statements reading those rows as ``moved`` (e.g. the ended attempt's record).
Move = tuple[Statement, tuple[Statement, ...]]
#: A finish as values: task id, attempt number, now, the result's JSON text (or None).
Finished = tuple[str, int, float, str | None]
#: Statements run one after another in one transaction, each sent the rows of the one
#: before (a conversation: the next statement depends on what the last one read); the
#: generator's return value is the result.
Steps = Generator[Statement, list[Row], list[Row]]


class Dialect(Protocol):
    """One database's way of running the shared SQL."""

    #: Placeholder of the tasks table's JSON column (PostgreSQL casts it: ``?::json``).
    json_param: str
    #: A Unicode-aware lower-case SQL function (SQLite's own ``lower`` folds ASCII only).
    lower: str
    #: What a claiming sub-select appends to skip rows another transaction holds
    #: (PostgreSQL's `` FOR UPDATE SKIP LOCKED``; empty where one writer runs at a time).
    row_lock: str

    def int_floor(self, expression: str) -> str:
        """SQL for the floor of a non-negative number as an integer (for time buckets)."""
        ...

    def in_list(self, column: str, values: Sequence[Any]) -> Statement:
        """``column`` equals one of ``values`` (a fixed text per call shape, where possible)."""
        ...

    def claim_statement(self, queue: Statement, update_set: Statement) -> Statement:
        """The claim: set ``update_set`` on the rows ``queue`` selects, locked as needed."""
        ...

    def is_duplicate(self, error: StorageError) -> bool:
        """True when ``error`` is a uniqueness violation (the store raises Conflict)."""
        ...

    async def write_first(self, statements: Sequence[Statement]) -> Row | None:
        """Run alternative conditional writes in order; return the first row one returns.

        Each statement is atomic on its own and the rest are skipped once one matched."""
        ...

    async def write_all(self, statements: Sequence[Statement]) -> list[Row]:
        """Run every statement in one transaction; return all the rows they returned."""
        ...

    async def insert_grouped(self, statement: Statement) -> None:
        """Run one single-row ``INSERT INTO t (...) VALUES (...)`` whose first value is the
        row's unique key. It may share a commit, or one multi-row statement, with the
        inserts arriving meanwhile, and fails alone; it returns once its commit is durable."""
        ...

    async def write_guarded(self, statements: Sequence[Statement]) -> bool:
        """Run the statements in one transaction, stopping (False) if the first changes no
        row; True when all ran."""
        ...

    async def write_moves(self, moves: Sequence[Move], first: bool) -> list[Row]:
        """Run each move's UPDATE and, only over the rows it moved (named ``moved``), its
        follow-up statements, atomically with it; return the moved rows.

        With ``first`` the moves are alternatives, as in :meth:`write_first` (stop at the
        first that moved a row); otherwise all run in one transaction, as in
        :meth:`write_all`."""
        ...

    async def write_finish(self, moves: Sequence[Move], finished: Finished) -> list[Row]:
        """A finish (``moves``, as :meth:`write_moves` with ``first``), which the dialect may
        run as part of one statement with concurrent finishes (``finished``: its values)."""
        ...

    async def claim(self, statement: Statement) -> list[Row]:
        """Run a statement made by :meth:`claim_statement`; return its rows."""
        ...

    # -- the limited claim (issue 14; see storage/flow_sql.py) ------------------------------

    def serialize_claims(self, names: Sequence[str]) -> Statement | None:
        """A statement that makes this transaction the only claimer of ``names`` (sorted)
        until it ends; None where transactions never overlap (one writer)."""
        ...

    def lock_rows(self, queue: Statement) -> Statement:
        """``queue`` (a claim's queue read) locking the rows it returns, as a claim does."""
        ...

    async def claim_steps(self, steps: Steps) -> list[Row]:
        """Run a claim's :data:`Steps` in one transaction, with the claim's settings."""
        ...

    async def lookup_one(self, statement: Statement) -> Row | None:
        """A key lookup (microseconds); its first row."""
        ...

    async def lookup_all(self, statement: Statement) -> list[Row]:
        """A key lookup of a few rows."""
        ...

    async def scan_all(self, statement: Statement) -> list[Row]:
        """A read that may visit many rows."""
        ...

    async def scan_snapshot(self, statements: Sequence[Statement]) -> list[list[Row]]:
        """Several reads that see one snapshot (a page and its total)."""
        ...

    def notify(self, tasks: Iterable[Task]) -> None:
        """These tasks changed (a no-op where the database notifies by itself)."""
        ...

    async def identity_epoch(self) -> int | None:
        """A number that moves whenever a change that can end a credential commits, in any
        process; None while this process cannot tell (its listener is down)."""
        ...

    def touch(self, task_id: str) -> None:
        """A task's progress changed (a no-op where the database notifies by itself)."""
        ...

    async def wait_queued(self, timeout: float) -> None:
        """See :meth:`~tasktrack.storage.base.TaskStore.wait_queued`."""
        ...

    async def wait_changed(self, task_ids: Collection[str], timeout: float) -> None:
        """See :meth:`~tasktrack.storage.base.TaskStore.wait_changed`."""
        ...

    async def compact_counts(self) -> int:
        """Fold the list counters' pending deltas into the counters, as the only compactor
        of the database (0 at once while another holds it); how many deltas were folded."""
        ...

    async def delete_exclusive(self, statement: Statement) -> int | None:
        """Run a DELETE as the only pruner of the database; the rows it deleted, or None
        at once when another connection's prune holds the pruning lock."""
        ...
