"""The overview's values: finished tasks per time bucket and run-time percentiles per type.

Percentiles are *nearest-rank* (the smallest value with at least p% of the values at or
below it): every answer is a duration that really occurred, and the SQL stores compute the
same rank with integer arithmetic (``(p * n + 99) / 100``) as :func:`rank` does here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: The percentiles reported, in percent.
PERCENTILES = (50, 90, 99)


def rank(percent: int, count: int) -> int:
    """The 1-based nearest rank of ``percent`` among ``count`` sorted values."""
    return max(1, (percent * count + 99) // 100)


@dataclass(frozen=True, slots=True)
class Durations:
    """Run times (seconds) of one task type's done tasks in a window."""

    name: str
    count: int
    p50: float
    p90: float
    p99: float
    max: float

    @classmethod
    def of(cls, name: str, values: Sequence[float]) -> Durations:
        """The statistics of ``values`` (at least one)."""
        ordered = sorted(values)
        n = len(ordered)
        p50, p90, p99 = (ordered[rank(p, n) - 1] for p in PERCENTILES)
        return cls(name, n, p50, p90, p99, ordered[-1])


@dataclass(frozen=True, slots=True)
class FinishedCount:
    """Tasks of one final status that finished within one bucket."""

    #: The bucket's start (Unix seconds, a multiple of the bucket size).
    bucket: int
    status: str
    count: int
