"""Which writes of a batch go as one statement: the rule both group commits share.

PostgreSQL's group commit (:mod:`tasktrack.storage.postgres.group_commit`) and SQLite's writer
thread (:mod:`tasktrack.storage.sqlite.connection`) each commit a batch of independent writes
together. Writes of a *mergeable kind* (finishes: each backend's ``finish_many``) are then run
as one statement, because the work per statement, not per row, was most of what a draining
worker's settles cost. This module only decides the grouping; running is the backend's.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

W = TypeVar("W")


def merge_slots(
    writes: Sequence[W],
    kind: Callable[[W], Hashable | None],
    key: Callable[[W], Hashable],
) -> list[list[W]]:
    """``writes`` as slots, in arrival order: the writes of one mergeable kind (``kind`` not
    None) with distinct keys share one slot, where the first of them arrived; every other
    write has a slot of its own. A second write with the same key (the same task) is not
    merged: it keeps its own later slot, so the first still runs first, as it would unmerged.
    A slot of one is run as that write alone."""
    slots: list[list[W]] = []
    groups: dict[Hashable, tuple[list[W], set[Hashable]]] = {}
    for write in writes:
        merge = kind(write)
        if merge is None:
            slots.append([write])
            continue
        if merge not in groups:
            groups[merge] = ([], set())
            slots.append(groups[merge][0])
        group, keys = groups[merge]
        if key(write) in keys:
            slots.append([write])
        else:
            group.append(write)
            keys.add(key(write))
    return slots
