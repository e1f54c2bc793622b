"""The limited claim (issue 14, point 4): a claim that respects concurrency caps and rate
limits, as a conversation of statements run in one transaction.

Only a claim whose task names include a limited type takes this path; a plain claim stays
the single statement of :func:`~tasktrack.storage.lifecycle_sql.claim_queue`. The steps:

1. serialise with every other claim of the same limited types (PostgreSQL: a transaction
   advisory lock per type, taken in name order; SQLite has one writer at a time already).
   Taken in its own statement, so that the next statement's READ COMMITTED snapshot sees
   every claim that held the lock before: two claimers cannot both take the last slot;
2. count what runs (``active``/``cancelling``, through the ``tasks_lease`` index) per type
   and key, and the starts within each rate-limited type's window (``task_starts``);
3. read the queue oldest due first (:func:`limited_queue`, through ``tasks_claim``), leaving
   out types without room and keys at their cap. The names are those of the worker's queues
   (a type has one queue), so no queue condition is needed. Unlike a plain claim it takes
   no lane in turn and ignores priority: fair share and priorities do not apply to limited
   types yet (docs/scheduling-limits.md);
4. admit candidates in queue order while they fit (:func:`~tasktrack.domain.flow.admit`),
   claim them, and log the starts of rate-limited ones (those past the window are deleted
   before counting); read again while some did not fit and the claim is short.

The slots are never stored: they are the running tasks themselves. Whatever ends a running
attempt (settle, cancel, the reaper after a crash) frees its slot in the same write.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence

from tasktrack.domain.flow import Limits, NameKey, Rate, Usage, admit, plan
from tasktrack.domain.lifecycle import RUNNING, sources
from tasktrack.storage import lifecycle_sql as lsql
from tasktrack.storage.dialect import Dialect, Row, Statement, Steps

_PICK_COLUMNS = "id, name, concurrency_key"
_NONE = Limits()


#: Most queue reads of one limited claim (see :func:`limited_claim`).
MAX_ROUNDS = 4


def limited_claim(
    dialect: Dialect,
    names: Sequence[str],
    caps: Mapping[str, Limits],
    limit: int,
    claim_set: Statement,
    now: float,
) -> Steps:
    """Claim up to ``limit`` tasks of ``names`` within ``caps`` (the limited ones among them).

    A read that found more of a type (or key) than it had room for claims what fits, then
    reads again without that type (or key), so that a nearly full type does not leave the
    claim short; at most :data:`MAX_ROUNDS` reads (each one fills a type or a key)."""
    lock = dialect.serialize_claims(sorted(caps))
    if lock is not None:
        yield lock
    claimed: list[Row] = []
    for _ in range(MAX_ROUNDS):
        round_rows, short = yield from _round(
            dialect, names, caps, limit - len(claimed), claim_set, now
        )
        claimed += round_rows
        if not short or len(claimed) >= limit:
            break
    return claimed


def _round(
    dialect: Dialect,
    names: Sequence[str],
    caps: Mapping[str, Limits],
    want: int,
    claim_set: Statement,
    now: float,
) -> Generator[Statement, list[Row], tuple[list[Row], bool]]:
    """One read of the queue and the claim of what fits; also whether some of what was read
    did not fit (another read may find more). Counts see this transaction's earlier rounds."""
    usage = yield from _usage(dialect, caps, now)
    chosen = plan(names, caps, usage)
    if not chosen.names:
        return [], False
    skip_full = open_keys(chosen.blocked_keys)
    queue = limited_queue(dialect.in_list("name", chosen.names), want, now, skip_full)
    candidates = yield dialect.lock_rows(queue)
    ids = admit(((r[0], r[1], r[2]) for r in candidates), caps, usage, want)
    if not ids:
        return [], False
    rows = yield claim(dialect, ids, claim_set)
    started = [row[3] for row in rows if caps.get(row[3], _NONE).rate is not None]
    if started:  # row[3]: the task's name
        yield record_starts(started, now)
    return rows, len(ids) < len(candidates)


def limited_queue(names: Statement, limit: int, now: float, extra: Statement) -> Statement:
    """The oldest due queued tasks of ``names`` (as the dialect matches a list), with their
    name and key, skipping ``extra`` (keys at their cap); read in ``tasks_claim`` order."""
    more = f" AND {extra[0]}" if extra[0] else ""
    return (
        f"SELECT {_PICK_COLUMNS} FROM tasks WHERE {lsql.status_is(sources('claim'))} "
        f"AND run_after <= ? AND {names[0]}{more} ORDER BY run_after, id LIMIT ?",
        (now, *names[1], *extra[1], limit),
    )


def _usage(
    dialect: Dialect, caps: Mapping[str, Limits], now: float
) -> Generator[Statement, list[Row], Usage]:
    usage = Usage()
    for name, key, count in (yield running(dialect, list(caps))):
        usage.add_running(name, key, int(count))
    rated = {n: c.rate for n, c in caps.items() if c.rate is not None}
    if rated:
        yield forget_starts(rated, now)
        usage.starts = {name: int(n) for name, n in (yield starts(rated, now))}
    return usage


def running(dialect: Dialect, names: Sequence[str]) -> Statement:
    """Running attempts of ``names`` per (name, key): ``(name, key or NULL, count)`` rows."""
    match, args = dialect.in_list("name", names)
    return (
        f"SELECT name, concurrency_key, count(*) FROM tasks WHERE {lsql.status_is(RUNNING)} "
        f"AND {match} GROUP BY name, concurrency_key",
        args,
    )


def _windows(rated: Mapping[str, Rate], now: float, op: str) -> Statement:
    """``(name = ? AND started_at <op> ?) OR ...``: each type against its window's start."""
    terms = " OR ".join(f"(name = ? AND started_at {op} ?)" for _ in rated)
    return terms, tuple(v for name, rate in rated.items() for v in (name, now - rate.period))


def starts(rated: Mapping[str, Rate], now: float) -> Statement:
    """Starts within each type's window ``(now - period, now]``: ``(name, count)`` rows."""
    where, args = _windows(rated, now, ">")
    return f"SELECT name, count(*) FROM task_starts WHERE {where} GROUP BY name", args


def open_keys(blocked: Sequence[NameKey]) -> Statement:
    """The queue condition that skips tasks whose (name, key) is at its cap."""
    if not blocked:
        return "", ()
    pairs = ", ".join("(?, ?)" for _ in blocked)
    return (
        f"(concurrency_key IS NULL OR (name, concurrency_key) NOT IN (VALUES {pairs}))",
        tuple(v for pair in blocked for v in pair),
    )


def claim(dialect: Dialect, ids: Sequence[str], claim_set: Statement) -> Statement:
    """The claim move of the admitted ``ids`` (still queued: locked, or one writer)."""
    match, args = dialect.in_list("id", ids)
    return (
        f"UPDATE tasks SET {claim_set[0]} WHERE {match} AND {lsql.status_is(sources('claim'))} "
        "RETURNING *",
        (*claim_set[1], *args),
    )


def record_starts(names: Sequence[str], now: float) -> Statement:
    """One ``task_starts`` row per started attempt of a rate-limited type."""
    rows = ", ".join("(?, ?)" for _ in names)
    return (
        f"INSERT INTO task_starts (name, started_at) VALUES {rows}",
        tuple(v for name in names for v in (name, now)),
    )


def forget_starts(rated: Mapping[str, Rate], now: float) -> Statement:
    """Delete the starts no window can count any more (the log stays <= count per type)."""
    where, args = _windows(rated, now, "<=")
    return f"DELETE FROM task_starts WHERE {where}", args
