"""The in-memory store's per-task logs, with the same cap and marker as the SQL stores."""

from __future__ import annotations

from collections.abc import Sequence

from tasktrack.domain.history import LogLine
from tasktrack.domain.logs import (
    DROPPED_LEVEL,
    LOG_LINES_PER_TASK,
    LogEntry,
    clean_entry,
    dropped_count,
    dropped_message,
)


class MemoryLogs:
    """Log lines per task id; ``seq`` counts across all tasks, like the SQL tables."""

    def __init__(self) -> None:
        self._lines: dict[str, list[LogLine]] = {}
        self._seq = 0

    def append(
        self, task_id: str, attempt: int, lines: Sequence[LogEntry], dropped: int = 0
    ) -> None:
        kept = self._lines.setdefault(task_id, [])
        for entry in map(clean_entry, lines):
            self._seq += 1
            kept.append(LogLine(self._seq, task_id, attempt, entry.at, entry.level, entry.message))
        self._lines[task_id] = _capped(kept, dropped)

    def read(self, task_id: str, after: int, limit: int) -> list[LogLine]:
        return [line for line in self._lines.get(task_id, []) if line.seq > after][:limit]

    def forget(self, task_id: str) -> None:
        self._lines.pop(task_id, None)


def _capped(lines: list[LogLine], dropped: int) -> list[LogLine]:
    real = [line for line in lines if line.level != DROPPED_LEVEL]
    over = len(real) - (LOG_LINES_PER_TASK - 1)
    if over <= 0:
        return lines
    old = sum(dropped_count(line.message) for line in lines if line.level == DROPPED_LEVEL)
    last = real[over - 1]
    marker = LogLine(
        last.seq,
        last.task_id,
        last.attempt,
        last.at,
        DROPPED_LEVEL,
        dropped_message(old + over + dropped),
    )
    return [marker, *real[over:]]
