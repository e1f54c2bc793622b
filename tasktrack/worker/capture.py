"""In the child: catching what a handler logs (and, opted in, prints) for its task's log.

Lines written through ``ctx.logger`` (any logger under ``tasktrack.task.<name>``) are caught
by a :class:`CaptureHandler` while the task runs; with ``capture_output=True`` on the task
type, ``sys.stdout``/``sys.stderr`` are swapped for :class:`LineStream` s whose complete lines
become entries at level ``STDOUT``/``STDERR``. Entries wait in a bounded :class:`LogBuffer`
until the child's reader thread sends them to the worker, batched like progress.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
import time
from collections import deque
from typing import TextIO

from tasktrack.domain.logs import LOG_LINES_PER_TASK, LogEntry

#: The most lines one message to the worker carries (a pipe message stays small).
BATCH_LINES = 500


class LogBuffer:
    """Lines waiting to go to the worker. Thread-safe; keeps the newest LOG_LINES_PER_TASK
    and counts the ones it had to drop, so the stored marker can say how many went."""

    def __init__(self) -> None:
        self._lines: deque[LogEntry] = deque()
        self._dropped = 0
        self._lock = threading.Lock()

    def add(self, entry: LogEntry) -> None:
        with self._lock:
            self._lines.append(entry)
            if len(self._lines) > LOG_LINES_PER_TASK:
                self._lines.popleft()
                self._dropped += 1

    def take(self) -> tuple[list[LogEntry], int]:
        """Up to BATCH_LINES of the oldest waiting lines, and the count dropped before them.

        After a drop, all of them: the store counts dropped lines into its marker only with
        a batch that reaches the cap, which the full buffer does."""
        with self._lock:
            n = len(self._lines) if self._dropped else min(len(self._lines), BATCH_LINES)
            lines = [self._lines.popleft() for _ in range(n)]
            dropped, self._dropped = self._dropped, 0
            return lines, dropped


class CaptureHandler(logging.Handler):
    """Turns each record logged to the task's logger into an entry (message + traceback)."""

    def __init__(self, buffer: LogBuffer) -> None:
        super().__init__(logging.NOTSET)
        self.buffer = buffer
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.buffer.add(LogEntry(record.created, record.levelname, self.format(record)))
        except Exception:
            self.handleError(record)


class LineStream(io.TextIOBase):
    """A text stream whose complete lines become entries at ``level``."""

    def __init__(self, buffer: LogBuffer, level: str) -> None:
        self.buffer_ = buffer
        self.level = level
        self._partial = ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            self.buffer_.add(LogEntry(time.time(), self.level, line.rstrip("\r")))
        return len(text)

    def close_line(self) -> None:
        """Emit a last line that had no newline."""
        with self._lock:
            rest, self._partial = self._partial, ""
        if rest:
            self.buffer_.add(LogEntry(time.time(), self.level, rest))


class Capture:
    """One task's capture: attach on :meth:`start`, detach on :meth:`stop`."""

    def __init__(self, logger_name: str, output: bool) -> None:
        self.buffer = LogBuffer()
        self._logger = logging.getLogger(logger_name)
        self._handler = CaptureHandler(self.buffer)
        self._output = output
        self._saved: tuple[TextIO, TextIO] | None = None
        self._streams = (LineStream(self.buffer, "STDOUT"), LineStream(self.buffer, "STDERR"))

    def start(self) -> None:
        self._logger.addHandler(self._handler)
        # The worker shows the lines on its stderr, prefixed with the task: not here too.
        self._logger.propagate = False
        if self._output:
            self._saved = (sys.stdout, sys.stderr)
            sys.stdout, sys.stderr = self._streams

    def stop(self) -> None:
        self._logger.removeHandler(self._handler)
        self._logger.propagate = True
        if self._saved is not None:
            sys.stdout, sys.stderr = self._saved
            self._saved = None
            for stream in self._streams:
                stream.close_line()
