"""Flow control of a claim (issue 14, point 4): concurrency caps and rate limits. No I/O.

A task type may cap

* its running attempts, cluster-wide (``concurrency``),
* the running attempts that share one *concurrency key* (``per_key``; the key is computed
  from the task's data when it is created and stored with it),
* how many attempts start in any window of ``rate.period`` seconds (``rate.count``).

"Running" is ``active`` or ``cancelling`` (a cancelling handler may still be at work). The
stores count what runs from the tasks themselves, so a slot is held exactly as long as its
task runs, and a crashed worker's slot comes back when the reaper recovers its lease. The
rules here turn those counts into what a claim may take; each store reads the counts and
applies them in its claim transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Rate:
    """At most ``count`` starts in any window of ``period`` seconds."""

    count: int
    period: float

    def __post_init__(self) -> None:
        if self.count < 1 or self.period <= 0:
            raise ValueError("a rate limit needs a count >= 1 and a period > 0 seconds")


@dataclass(frozen=True, slots=True)
class Limits:
    """A task type's caps; None means no cap of that kind."""

    concurrency: int | None = None
    per_key: int | None = None
    rate: Rate | None = None

    def __post_init__(self) -> None:
        for name, value in (("concurrency", self.concurrency), ("per_key", self.per_key)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1")

    @property
    def active(self) -> bool:
        """True when any cap is set (a claim of this type must count)."""
        return self.concurrency is not None or self.per_key is not None or self.rate is not None


#: A candidate of a claim, in claim order: (task id, task name, concurrency key).
Candidate = tuple[str, str, str | None]
NameKey = tuple[str, str]


@dataclass(slots=True)
class Usage:
    """What the limited task types use now: running attempts per type and per (type, key),
    and starts within each rate-limited type's window."""

    running: dict[str, int] = field(default_factory=dict)
    running_keys: dict[NameKey, int] = field(default_factory=dict)
    starts: dict[str, int] = field(default_factory=dict)

    def add_running(self, name: str, key: str | None, count: int = 1) -> None:
        self.running[name] = self.running.get(name, 0) + count
        if key is not None:
            self.running_keys[(name, key)] = self.running_keys.get((name, key), 0) + count


def limited(names: Iterable[str], limits: Mapping[str, Limits] | None) -> dict[str, Limits]:
    """The types among ``names`` that have a cap (empty: the claim is a plain one)."""
    if not limits:
        return {}
    return {n: limits[n] for n in names if n in limits and limits[n].active}


def room(limits: Limits, name: str, usage: Usage) -> int | None:
    """How many more attempts of ``name`` may start now (None: no type-wide cap)."""
    rooms = []
    if limits.concurrency is not None:
        rooms.append(limits.concurrency - usage.running.get(name, 0))
    if limits.rate is not None:
        rooms.append(limits.rate.count - usage.starts.get(name, 0))
    return max(min(rooms), 0) if rooms else None


@dataclass(frozen=True, slots=True)
class Plan:
    """What a limited claim may read: the names with room, the keys that are full."""

    names: list[str]
    blocked_keys: list[NameKey]
    rooms: dict[str, int | None]


def plan(names: Sequence[str], caps: Mapping[str, Limits], usage: Usage) -> Plan:
    """Leave out the types without room and the keys at their cap, so that the claim's
    queue read skips them instead of taking tasks it must give back."""
    rooms = {n: room(caps[n], n, usage) for n in caps}
    open_names = [n for n in names if rooms.get(n) != 0]
    blocked = [
        (name, key)
        for (name, key), count in usage.running_keys.items()
        if name in caps and caps[name].per_key is not None and count >= (caps[name].per_key or 0)
    ]
    return Plan(open_names, sorted(blocked), rooms)


def admit(
    candidates: Iterable[Candidate], caps: Mapping[str, Limits], usage: Usage, want: int
) -> list[str]:
    """The ids of ``candidates`` (in claim order) this claim may start: at most ``want``,
    none beyond a type's room or a key's cap, counting the ones admitted before."""
    rooms = {n: room(caps[n], n, usage) for n in caps}
    taken: dict[str, int] = {}
    taken_keys: dict[NameKey, int] = {}
    out: list[str] = []
    for task_id, name, key in candidates:
        if len(out) >= want:
            break
        if not _fits(name, key, caps, rooms, usage, taken, taken_keys):
            continue
        taken[name] = taken.get(name, 0) + 1
        if key is not None:
            taken_keys[(name, key)] = taken_keys.get((name, key), 0) + 1
        out.append(task_id)
    return out


def _fits(
    name: str,
    key: str | None,
    caps: Mapping[str, Limits],
    rooms: Mapping[str, int | None],
    usage: Usage,
    taken: Mapping[str, int],
    taken_keys: Mapping[NameKey, int],
) -> bool:
    limits = caps.get(name)
    if limits is None:
        return True  # a plain type among the claim's names
    type_room = rooms.get(name)
    if type_room is not None and taken.get(name, 0) >= type_room:
        return False
    if limits.per_key is None or key is None:
        return True
    in_use = usage.running_keys.get((name, key), 0) + taken_keys.get((name, key), 0)
    return in_use < limits.per_key
