"""SQL of the per-task log: append (with the cap) and read, for both dialects.

The cap is kept in SQL, in the append's transaction: after the insert, the newest line
beyond ``LOG_LINES_PER_TASK - 1`` real lines becomes the marker (level ``DROPPED``, its count
the old marker's plus the lines dropped now), and every row older than the marker goes. The
marker keeps the seq of the newest line it replaces, so it sorts where the dropped lines were.
"""

from __future__ import annotations

from collections.abc import Sequence

from tasktrack.domain.history import LogLine
from tasktrack.domain.logs import (
    DROPPED_LEVEL,
    LOG_LINES_PER_TASK,
    LogEntry,
    clean_entry,
    dropped_message,
)
from tasktrack.storage.dialect import Row, Statement

#: Rows per INSERT statement (5 parameters each).
_CHUNK = 200
_ROW = "SELECT id, ?, ?, ?, ? FROM tasks WHERE id = ?"
_HEAD, _, _TAIL = dropped_message(0).partition("0")
#: The old marker's count, parsed back from its text (replace + CAST work on both dialects).
_OLD_COUNT = (
    "COALESCE((SELECT CAST(replace(replace(message, ?, ''), ?, '') AS INTEGER) FROM task_logs "
    "WHERE task_id = ? AND level = ?), 0)"
)
#: The newest real line to drop: the one just past the lines kept.
_BOUNDARY = (
    "(SELECT seq FROM task_logs WHERE task_id = ? AND level <> ? "
    "ORDER BY seq DESC LIMIT 1 OFFSET ?)"
)
_NEW_DROPPED = "(SELECT count(*) FROM task_logs WHERE task_id = ? AND level <> ? AND seq <= {b})"
_MARK = (
    "UPDATE task_logs SET level = ?, message = ? || CAST(({old} + {new} + ?) AS TEXT) || ? "
    "WHERE seq = {b}"
)
_PRUNE = (
    "DELETE FROM task_logs WHERE task_id = ? AND seq < "
    "(SELECT max(seq) FROM task_logs WHERE task_id = ? AND level = ?)"
)
_READ = (
    "SELECT seq, task_id, attempt, at, level, message FROM task_logs "
    "WHERE task_id = ? AND seq > ? ORDER BY seq LIMIT ?"
)


def append(
    task_id: str, attempt: int, lines: Sequence[LogEntry], dropped: int = 0
) -> list[Statement]:
    """The statements, for one transaction, that append ``lines`` and keep the cap
    (``dropped``: lines dropped before these, counted into the marker)."""
    entries = [clean_entry(e) for e in lines]
    chunks = range(0, len(entries), _CHUNK)
    inserts = [_insert(task_id, attempt, entries[i : i + _CHUNK]) for i in chunks]
    return [*inserts, _mark(task_id, dropped), (_PRUNE, (task_id, task_id, DROPPED_LEVEL))]


def _insert(task_id: str, attempt: int, entries: Sequence[LogEntry]) -> Statement:
    sql = "INSERT INTO task_logs (task_id, attempt, at, level, message) " + " UNION ALL ".join(
        [_ROW] * len(entries)
    )
    args = [v for e in entries for v in (attempt, e.at, e.level, e.message, task_id)]
    return sql, tuple(args)


def _mark(task_id: str, dropped: int) -> Statement:
    boundary = (task_id, DROPPED_LEVEL, LOG_LINES_PER_TASK - 1)
    sql = _MARK.format(old=_OLD_COUNT, new=_NEW_DROPPED.format(b=_BOUNDARY), b=_BOUNDARY)
    args = (
        DROPPED_LEVEL,
        _HEAD,
        *(_HEAD, _TAIL, task_id, DROPPED_LEVEL),
        *(task_id, DROPPED_LEVEL, *boundary),
        dropped,
        _TAIL,
        *boundary,
    )
    return sql, args


def read(task_id: str, after: int, limit: int) -> Statement:
    """The task's lines after ``after``, oldest first."""
    return _READ, (task_id, after, limit)


def line_from_row(row: Row) -> LogLine:
    """A :class:`LogLine` from a row of :func:`read`."""
    return LogLine(int(row[0]), row[1], int(row[2]), float(row[3]), row[4], row[5])
