"""Sorting tasks in memory by a list's mixed ascending and descending keys."""

from __future__ import annotations

from typing import Any


class Directed:
    """A sort value that compares in its key's direction (for mixed asc/desc sorts)."""

    __slots__ = ("desc", "value")

    def __init__(self, value: Any, desc: bool) -> None:
        self.value, self.desc = value, desc

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Directed) and self.value == other.value

    def __lt__(self, other: Directed) -> bool:
        return bool(self.value > other.value if self.desc else self.value < other.value)

    def __gt__(self, other: Directed) -> bool:
        return other < self
