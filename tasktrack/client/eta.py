"""How long a running task has left, from its recent step rate (issue 16).

The rate is the steps made over the last :data:`WINDOW` seconds of observations (at least the
last two), so a task that speeds up or slows down is estimated by how it goes now, not by its
average. Before two observations exist, the attempt's start (``lastRunAt``, when it was at
step 0: progress restarts per attempt) stands in for the first. The dashboard does the same
in ``tasktrack/web/static/eta.js``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

#: Seconds of observations the rate is taken over.
WINDOW = 30.0


class Eta:
    """Observations of one task's progress, and the time left they imply."""

    def __init__(self, clock: Callable[[], float] = time.time, window: float = WINDOW) -> None:
        self._clock = clock
        self._window = window
        self._samples: deque[tuple[float, int]] = deque()
        self._total = 0
        self._start: float | None = None

    def observe(self, step: int, total: int, started_at: float | None = None) -> None:
        """The task is at ``step`` of ``total`` now; its attempt started at ``started_at``."""
        now = self._clock()
        if self._samples and step < self._samples[-1][1]:
            self._samples.clear()  # a new attempt: progress restarted
        if not self._samples or step != self._samples[-1][1]:
            self._samples.append((now, step))
        while len(self._samples) > 2 and self._samples[1][0] < now - self._window:
            self._samples.popleft()
        self._total = total
        self._start = started_at

    def remaining(self) -> float | None:
        """Seconds left, or None while the rate is unknown (no steps yet, no total)."""
        if not self._samples or self._total <= 0:
            return None
        t1, s1 = self._samples[-1]
        t0, s0 = self._samples[0] if len(self._samples) > 1 else (self._start, 0)
        if t0 is None or s1 <= s0 or t1 <= t0:
            return None
        rate = (s1 - s0) / (t1 - t0)
        return max((self._total - s1) / rate - (self._clock() - t1), 0.0)


def format_eta(seconds: float | None) -> str:
    """``"eta 0:42"``, ``"eta 1:05:00"``; ``"eta ?"`` while unknown."""
    if seconds is None:
        return "eta ?"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"eta {hours}:{minutes:02d}:{secs:02d}" if hours else f"eta {minutes}:{secs:02d}"
