"""The rules for a task's stored log lines: how long a message may be, and the marker line
that stands in for the lines dropped beyond the per-task cap. Shared by every store."""

from __future__ import annotations

from typing import NamedTuple

from tasktrack.domain.history import LOG_LINES_PER_TASK, LOG_MESSAGE_MAX_CHARS

__all__ = [
    "DROPPED_LEVEL",
    "LOG_LINES_PER_TASK",
    "LogEntry",
    "cut_message",
    "dropped_count",
    "dropped_message",
]

#: The level of the one marker line that stands in for the oldest lines once the cap is hit.
DROPPED_LEVEL = "DROPPED"
_MARKER_HEAD = "… "
_MARKER_TAIL = " earlier lines dropped"


class LogEntry(NamedTuple):
    """One line to append: when it was logged (Unix seconds), its level, its text."""

    at: float
    level: str
    message: str


def cut_message(message: str) -> str:
    """``message`` fit to store: at most LOG_MESSAGE_MAX_CHARS characters plus a marker
    saying how much was cut, and without NUL (PostgreSQL text cannot hold it)."""
    message = message.replace("\x00", "\\x00")
    extra = len(message) - LOG_MESSAGE_MAX_CHARS
    if extra <= 0:
        return message
    return f"{message[:LOG_MESSAGE_MAX_CHARS]}… [{extra} characters cut]"


def clean_entry(entry: LogEntry) -> LogEntry:
    """``entry`` with its level and message bounded (levels are short names)."""
    return LogEntry(float(entry.at), entry.level[:20] or "INFO", cut_message(entry.message))


def dropped_message(count: int) -> str:
    """The marker line's text for ``count`` dropped lines."""
    return f"{_MARKER_HEAD}{count}{_MARKER_TAIL}"


def dropped_count(message: str) -> int:
    """How many lines a marker line's text says were dropped (0 if it is not one)."""
    number = message.removeprefix(_MARKER_HEAD).removesuffix(_MARKER_TAIL)
    return int(number) if number.isdigit() else 0
