"""Claim-ahead: how many tasks a worker holds in hand beyond those its children run.

Why: without it each child's next task waits for a claim *and its commit* after the last one
ends, and every claim and settle is a commit of its own; with a few tasks in hand a child
starts the next one at once, and claims and settles share commits (measured in bench/README.md,
"Claim-ahead").

Why adaptive: a task in hand is ``active`` and leased to this worker, so no other worker can
run it. Holding tasks of minutes while another worker idles would be Celery's prefetch
problem. So the worker holds only as many as its children are expected to *start* within
``prefetch_seconds``, judged from how long its recent runs took (a moving average), and never
more than ``prefetch``: many no-op tasks, several long ones never. A task that still waits
for a child after :data:`HOLD_LIMIT` seconds (a sudden long task took every child) goes back
to the queue without spending an attempt, and the worker holds nothing more until a run ends.

The claim loop refills in batches (when at least half the target is free), so claims of
several tasks share one statement and one commit.
"""

from __future__ import annotations

#: A task in hand longer than this goes back to the queue (seconds).
HOLD_LIMIT = 5.0
#: Weight of the newest run in the moving average of run times.
SMOOTHING = 0.2


class Prefetch:
    """The claim-ahead target of one worker. Event-loop only."""

    def __init__(self, concurrency: int, limit: int, seconds: float) -> None:
        """``limit``: most tasks in hand (0: claim only for idle children);
        ``seconds``: how soon the children should be expected to start them."""
        self._concurrency = concurrency
        self._limit = limit
        self._seconds = seconds
        #: Moving average of a run's time on its child; None until the first run ends.
        self._average: float | None = None

    def observe(self, seconds: float) -> None:
        """A run held its child for ``seconds``."""
        if self._average is None:
            self._average = seconds
        else:
            self._average += SMOOTHING * (seconds - self._average)

    def stall(self) -> None:
        """A task waited in hand past ``HOLD_LIMIT``: the children are on long work, so hold
        nothing more until a run ends and says how long runs take now."""
        self._average = None

    def ahead(self) -> int:
        """How many tasks to hold beyond the running ones, now."""
        if self._limit == 0 or self._average is None:
            return 0
        expected = self._seconds * self._concurrency / max(self._average, 1e-6)
        return min(self._limit, int(expected))

    def capacity(self) -> int:
        """Most tasks the worker should have claimed and not yet ended (running or in hand)."""
        return self._concurrency + self.ahead()

    def room(self, outstanding: int) -> int:
        """How many to claim with ``outstanding`` runs not yet ended: 0 until the free room
        reaches a batch (half the target ahead, at least one), so claims come in batches."""
        free = self.capacity() - outstanding
        return free if free >= max(1, self.ahead() // 2) else 0
