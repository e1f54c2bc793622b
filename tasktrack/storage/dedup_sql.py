"""Deduplicated creates on SQL (issue 14): ``Idempotency-Key`` records and ``uniqueKey``.

The database decides, not a read before the write: the new task, its unique key and its
idempotency record are written in one transaction, and a uniqueness violation (the
``idempotency_keys`` primary key or the partial unique index ``tasks_unique_key``, migration
0007) rolls all of it back. Only then is the winner read. So any number of concurrent
identical requests, on any number of servers, create one task. The loser's read can miss
(the winner's task finished, or was deleted, in between): then the create is tried again.
"""

from __future__ import annotations

from tasktrack.domain.dedup import Created, Dedup, IdempotencyMismatch, Outcome
from tasktrack.domain.task import Task, TraceContext
from tasktrack.errors import StorageError
from tasktrack.storage.dialect import Dialect, Statement
from tasktrack.storage.rows import task_from_row, task_to_row

#: The tasks_unique_key index's condition, exactly as the migration spells it.
UNFINISHED = "status IN ('queued', 'active', 'cancelling')"
#: Tries of the create-or-read loop before giving up (each retry means another writer
#: finished or deleted the winning task in between: rare, and never for long).
TRIES = 5

_SET_UNIQUE = "UPDATE tasks SET unique_key = ? WHERE id = ?"
_FORGET_EXPIRED = (
    "DELETE FROM idempotency_keys WHERE org_id = ? AND idem_key = ? AND created_at < ?"
)
_REMEMBER = (
    "INSERT INTO idempotency_keys (org_id, idem_key, fingerprint, task_id, created_at)"
    " VALUES (?, ?, ?, ?, ?)"
)
_RECORD = (
    "SELECT fingerprint, task_id FROM idempotency_keys"
    " WHERE org_id = ? AND idem_key = ? AND created_at >= ?"
)
_HOLDER = f"SELECT * FROM tasks WHERE org_id = ? AND unique_key = ? AND {UNFINISHED}"
_UNIQUE_KEY_OF = "SELECT unique_key FROM tasks WHERE id = ?"
_PRUNE = (
    "DELETE FROM idempotency_keys WHERE (org_id, idem_key) IN"
    " (SELECT org_id, idem_key FROM idempotency_keys WHERE created_at < ?"
    " ORDER BY created_at LIMIT ?)"
)


def create_statements(insert: str, task: Task, dedup: Dedup, born_after: float) -> list[Statement]:
    """The one transaction that creates ``task`` with its keys. Idempotency records created
    before ``born_after`` have expired: the first statement forgets this key's, if any."""
    statements: list[Statement] = []
    key = dedup.idempotency_key
    if key is not None:
        statements.append((_FORGET_EXPIRED, (task.org_id, key, born_after)))
    statements.append((insert, task_to_row(task)))
    if dedup.unique_key is not None:
        statements.append((_SET_UNIQUE, (dedup.unique_key, task.id)))
    if key is not None:
        remember = (task.org_id, key, dedup.fingerprint, task.id, float(task.created_at))
        statements.append((_REMEMBER, remember))
    return statements


class SqlDedup:
    """The deduplicating part of :class:`~tasktrack.storage.sql_store.SqlTaskStore`."""

    dialect: Dialect
    _insert: str

    def _notify(self, task: Task) -> Task:
        raise NotImplementedError  # provided by the store

    def _trace_statements(self, task: Task, trace: TraceContext | None) -> list[Statement]:
        raise NotImplementedError  # provided by the store

    async def create_deduplicated(
        self, task: Task, dedup: Dedup, born_after: float, trace: TraceContext | None = None
    ) -> Created:
        statements = create_statements(self._insert, task, dedup, born_after)
        statements += self._trace_statements(task, trace)
        for _ in range(TRIES):
            try:
                await self.dialect.write_all(statements)
            except StorageError as exc:
                if not self.dialect.is_duplicate(exc):
                    raise
                winner = await self._winner(task.org_id, dedup, born_after)
                if winner is not None:
                    return winner
                continue
            return Created(self._notify(task))
        raise StorageError("the create kept colliding with tasks that vanished; try again")

    async def _winner(self, org_id: str, dedup: Dedup, born_after: float) -> Created | None:
        """The task that holds one of ``dedup``'s keys, if any still does."""
        if dedup.idempotency_key is not None:
            args = (org_id, dedup.idempotency_key, born_after)
            record = await self.dialect.lookup_one((_RECORD, args))
            if record is not None:
                if record[0] != dedup.fingerprint:
                    raise IdempotencyMismatch()
                row = await self.dialect.lookup_one(
                    ("SELECT * FROM tasks WHERE id = ?", (record[1],))
                )
                return None if row is None else Created(task_from_row(row), Outcome.REPLAYED)
        if dedup.unique_key is not None:
            row = await self.dialect.lookup_one((_HOLDER, (org_id, dedup.unique_key)))
            if row is not None:
                return Created(task_from_row(row), Outcome.EXISTING)
        return None

    async def unique_key_of(self, task_id: str) -> str | None:
        row = await self.dialect.lookup_one((_UNIQUE_KEY_OF, (task_id,)))
        return None if row is None else row[0]

    async def prune_idempotency(self, created_before: float, limit: int) -> int:
        if limit < 1:
            return 0
        deleted = await self.dialect.delete_exclusive((_PRUNE, (created_before, limit)))
        return deleted or 0
