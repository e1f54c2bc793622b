"""The lifecycle's SQL, derived from the transition table in :mod:`tasktrack.domain.lifecycle`.

Written once, with ``?`` placeholders, for both dialects. A verb becomes one conditional
UPDATE per status it leads to (``... AND status IN (<the sources leading there>)``), so the
database itself enforces the table: a statement that matches no row means the move was
refused. A running attempt's writes also match ``attempts = ?`` (the fencing token). A verb
with several targets (a retry: active → queued, cancelling → cancelled) gives several
statements, alternatives the store runs in order until one matches.

Statuses are written as literals, never parameters: the partial indexes (``tasks_claim``,
``tasks_lease``) are used only when the query names their statuses as they do.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from tasktrack.domain.fairness import Lane
from tasktrack.domain.history import Outcome
from tasktrack.domain.lifecycle import RUNNING, TRANSITIONS, Status, is_terminal, sources, targets
from tasktrack.storage.attempts import ATTEMPT_COLUMNS, ending
from tasktrack.storage.dialect import Move, Statement

#: Columns every user-visible change touches (argument: ``int(now)``).
TOUCH = "last_changed = ?, version = version + 1"
_FENCE = "id = ? AND attempts = ?"
_NO_EXTRA: Statement = ("", ())


def status_is(statuses: Collection[Status]) -> str:
    """``status = 'x'`` or ``status IN ('x', 'y')`` (literals; see the module docstring)."""
    values = [f"'{s.value}'" for s in statuses]
    return f"status = {values[0]}" if len(values) == 1 else f"status IN ({', '.join(values)})"


#: Running tasks whose lease lapsed (argument: now). Names RUNNING as ``tasks_lease`` does.
_STALE = f"{status_is(RUNNING)} AND lease_expires_at < ?"


def _into(target: Status, now: float) -> Statement:
    """What entering ``target`` from a running status sets besides the verb's own columns.

    ``worker_id`` and ``last_run_at`` stay: the attempt's row is recorded from the moved row
    (:func:`record`), and the next claim overwrites them. Requeued, progress restarts at 0
    (each attempt counts its own steps)."""
    if is_terminal(target):
        return (
            f"status = '{target.value}', last_finished_at = ?, lease_expires_at = NULL",
            (now,),
        )
    if target is Status.QUEUED:
        return "status = 'queued', lease_expires_at = NULL, current_step = 0", ()
    raise ValueError(f"no generic way into {target.value}")


def record(now: float, outcome: Outcome, reason: str) -> Statement:
    """The ``task_attempts`` row of each attempt a move ended, read from the rows it moved
    (a CTE or view named ``moved``; see :meth:`~tasktrack.storage.dialect.Dialect.write_moves`)."""
    return (
        f"INSERT INTO task_attempts ({ATTEMPT_COLUMNS}) "
        "SELECT id, attempts, coalesce(worker_id, ''), last_run_at, ?, ?, ? FROM moved",
        (now, outcome.value, reason),
    )


def _moves(
    verb: str,
    where: Statement,
    now: float,
    extras: Mapping[Status, Statement] | None = None,
    guards: Mapping[Status, str] | None = None,
    why: Outcome | str = "",
) -> list[Move]:
    """One UPDATE per target of ``verb``, each matching ``where`` and the target's sources,
    with the record of the attempt it ends (``why``: the reason, or an Outcome overriding
    the verb's own with no reason)."""
    out: list[Move] = []
    for target, froms in targets(verb).items():
        into_sql, into_args = _into(target, now)
        extra_sql, extra_args = (extras or {}).get(target, _NO_EXTRA)
        guard = (guards or {}).get(target)
        sql = (
            f"UPDATE tasks SET {into_sql}{', ' + extra_sql if extra_sql else ''}, {TOUCH} "
            f"WHERE {where[0]} AND {status_is(froms)}{' AND ' + guard if guard else ''} "
            "RETURNING *"
        )
        update = (sql, (*into_args, *extra_args, int(now), *where[1]))
        out.append((update, (_record_of(verb, target, now, why),)))
    return out


def _record_of(verb: str, target: Status, now: float, why: Outcome | str) -> Statement:
    if isinstance(why, Outcome):
        return record(now, ending(verb, target, why), "")
    return record(now, ending(verb, target), why)


def _fenced(
    verb: str,
    task_id: str,
    attempt: int,
    now: float,
    extras: Mapping[Status, Statement],
    why: Outcome | str = "",
) -> list[Move]:
    return _moves(verb, (_FENCE, (task_id, attempt)), now, extras, why=why)


def finish(task_id: str, attempt: int, now: float) -> list[Move]:
    """The handler returned: the task ends done with ``currentStep = totalStep``."""
    return _fenced(
        "finish", task_id, attempt, now, {Status.DONE: ("current_step = total_step", ())}
    )


def finish_from(source: str, id_: str, attempt: str, now: str, changed: str) -> str:
    """:func:`finish` for every row of ``source`` (a relation of values, one row per attempt,
    whose columns are named by the other arguments): the UPDATE each database's
    ``finish_many`` runs. Its record's outcome is :data:`FINISHED`."""
    moves = targets("finish")
    if list(moves) != [Status.DONE]:  # the shape below is the move into done only
        raise RuntimeError(f"finish leads to {list(moves)}; finish_from needs updating")
    return (
        f"UPDATE tasks SET status = 'done', last_finished_at = {now}, lease_expires_at = NULL,"
        f" current_step = total_step, last_changed = {changed}, version = version + 1"
        f" FROM {source} WHERE tasks.id = {id_} AND tasks.attempts = {attempt}"
        f" AND tasks.{status_is(moves[Status.DONE])}"
    )


#: The outcome a finish records for the attempt it ends.
FINISHED = ending("finish", Status.DONE)


def fail(
    task_id: str, attempt: int, reason: str, now: float, outcome: Outcome = Outcome.ERROR
) -> list[Move]:
    """The attempt failed for good: error with ``reason`` (the attempt ended ``outcome``)."""
    extras = {Status.ERROR: ("fail_reason = ?", (reason,))}
    moves = _fenced("fail", task_id, attempt, now, extras)
    return [(update, (record(now, outcome, reason),)) for update, _ in moves]


def stop(task_id: str, attempt: int, now: float) -> list[Move]:
    """The handler stopped on a cancel request."""
    return _fenced("stop", task_id, attempt, now, {})


def retry(task_id: str, attempt: int, run_after: float, now: float, reason: str = "") -> list[Move]:
    """Queued again after its backoff (a cancelling task ends cancelled instead); the
    attempt is recorded as an error with ``reason``."""
    extras = {Status.QUEUED: ("run_after = ?", (run_after,))}
    return _fenced("retry", task_id, attempt, now, extras, why=reason)


def release(task_id: str, attempt: int, now: float) -> list[Move]:
    """Given back at shutdown without spending an attempt (``max_attempts`` grows by one)."""
    extras = {Status.QUEUED: ("max_attempts = max_attempts + 1", ())}
    return _fenced("release", task_id, attempt, now, extras)


def expire(now: float, lost_reason: str) -> list[Move]:
    """Recover lapsed leases: the "expire" moves (a queued retry only while attempts remain),
    then "lose" for what is left. Run in one transaction, in this order."""
    stale = (_STALE, (now,))
    guards = {Status.QUEUED: "attempts < max_attempts"}
    again = _moves("expire", stale, now, guards=guards, why=lost_reason)
    lost = {Status.ERROR: ("fail_reason = ?", (lost_reason,))}
    return [*again, *_moves("lose", stale, now, lost, why=lost_reason)]


def cancel(
    task_id: str, org_id: str, project_id: str | None, user_id: str, now: float
) -> Statement:
    """Every "cancel" move in one conditional UPDATE (CASE on the current status), within the
    caller's scope. Moves into a terminal status also stamp ``last_finished_at``."""
    moves = TRANSITIONS["cancel"]
    cases = " ".join(f"WHEN '{s.value}' THEN '{t.value}'" for s, t in moves.items())
    ending = [s for s, t in moves.items() if is_terminal(t)]
    scope, scope_args = _scope(org_id, project_id)
    sql = (
        f"UPDATE tasks SET status = CASE status {cases} END, "
        f"last_finished_at = CASE WHEN {status_is(ending)} THEN ? ELSE last_finished_at END, "
        f"last_changed_by = ?, {TOUCH} WHERE id = ? AND {scope} AND {status_is(moves)} "
        "RETURNING *"
    )
    return sql, (now, user_id, int(now), task_id, *scope_args)


def _scope(org_id: str, project_id: str | None) -> Statement:
    if project_id is None:
        return "org_id = ?", (org_id,)
    return "org_id = ? AND project_id = ?", (org_id, project_id)


def claim_set(worker_id: str, lease_seconds: float, now: float) -> Statement:
    """The SET clause of a claim: the "claim" move, a new attempt (the fencing token), a lease,
    and progress from 0 (``total_step`` stays: the handler's last estimate)."""
    (target,) = targets("claim")
    return (
        f"status = '{target.value}', attempts = attempts + 1, worker_id = ?, "
        f"lease_expires_at = ?, last_run_at = ?, current_step = 0, {TOUCH}",
        (worker_id, now + lease_seconds, now, int(now)),
    )


#: A claim's order within its lane: ``tasks_lane``'s order after its (queue, org_id) prefix,
#: so the claim reads the index in order and stops after ``limit`` rows (no sort).
CLAIM_ORDER = "priority DESC, run_after, id"
_QUEUED = status_is(sources("claim"))
#: The first organisation with queued tasks in a queue (one probe of ``tasks_lane``).
_FIRST_ORG = f"SELECT org_id FROM tasks WHERE {_QUEUED} AND queue = ? {{}}ORDER BY org_id LIMIT 1"


def lane_org(lane: Lane) -> Statement:
    """``org_id = <the lane's organisation>``; for a lane with no organisation named, the
    one after ``lane.after`` with queued tasks in the queue, wrapping round to the first
    (two index probes inside the claim itself: the round-robin costs no extra round trip)."""
    if lane.org_id is not None:
        return "org_id = ?", (lane.org_id,)
    after, first = _FIRST_ORG.format("AND org_id > ? "), _FIRST_ORG.format("")
    return f"org_id = coalesce(({after}), ({first}))", (lane.queue, lane.after, lane.queue)


def claim_conditions(lane: Lane, names: Statement, now: float) -> list[Statement]:
    """What a claimable task of ``lane`` is: queued, in the lane, due, of a type the worker
    runs (``names``, as the dialect matches a list). Other conditions (caps, limits) are
    further entries of this list: :func:`claim_queue` ANDs them all."""
    return [
        (_QUEUED, ()),
        ("queue = ?", (lane.queue,)),
        lane_org(lane),
        ("run_after <= ?", (now,)),
        names,
    ]


def claim_queue(conditions: Sequence[Statement], limit: int) -> Statement:
    """The tasks a claim takes: the first ``limit`` matching ``conditions`` in
    :data:`CLAIM_ORDER`, read from ``tasks_lane`` in order."""
    where = " AND ".join(sql for sql, _ in conditions)
    args = tuple(a for _, values in conditions for a in values)
    return f"SELECT id FROM tasks WHERE {where} ORDER BY {CLAIM_ORDER} LIMIT ?", (*args, limit)


def lane_orgs(queue: str, after: str, most: int) -> Statement:
    """The organisations (at most ``most``) after ``after`` with queued tasks in ``queue``,
    in id order: a loose index scan of ``tasks_lane``, one probe per organisation, however
    long the queue."""
    step = (
        f"SELECT t.org_id FROM tasks t WHERE t.{_QUEUED} AND t.queue = ? "
        "AND t.org_id > o.org_id ORDER BY t.org_id LIMIT 1"
    )
    return (
        f"WITH RECURSIVE o(org_id) AS (SELECT ({_FIRST_ORG.format('AND org_id > ? ')}) "
        f"UNION ALL SELECT ({step}) FROM o WHERE o.org_id IS NOT NULL) "
        "SELECT org_id FROM o WHERE org_id IS NOT NULL LIMIT ?",
        (queue, after, queue, most),
    )


def upcoming(
    org_id: str, project_id: str | None, now: float, after: tuple[float, str] | None, limit: int
) -> Statement:
    """An organisation's queued tasks not yet due, soonest first, after the keyset position
    ``after`` (due time, id). Read from ``tasks_claim`` (due-time order), skipping other
    organisations' future tasks: a dashboard read, not a hot path."""
    scope, args = _scope(org_id, project_id)
    since = "run_after > ?"
    since_args: tuple[Any, ...] = (now,)
    if after is not None:
        since = "run_after > ? AND (run_after > ? OR (run_after = ? AND id > ?))"
        since_args = (now, after[0], after[0], after[1])
    return (
        f"SELECT * FROM tasks WHERE {_QUEUED} AND {since} AND {scope} "
        "ORDER BY run_after, id LIMIT ?",
        (*since_args, *args, limit),
    )


#: When the next queued task falls due (read from ``tasks_claim``; argument: now).
NEXT_DUE = (
    f"SELECT run_after FROM tasks WHERE {_QUEUED} AND run_after > ? ORDER BY run_after LIMIT 1"
)


def renew(claims: Collection[tuple[str, int]], lease_seconds: float, now: float) -> Statement:
    """Extend the leases of the ``(task_id, attempt)`` pairs still running, in one statement.

    ``UPDATE ... FROM (VALUES ...)`` reads each pair through the primary key on both
    dialects (a row-value ``IN (VALUES ...)`` made SQLite scan the table)."""
    pairs = ", ".join("(?, ?)" for _ in claims)
    return (
        f"UPDATE tasks SET lease_expires_at = ? FROM (VALUES {pairs}) AS c "
        "WHERE tasks.id = c.column1 AND tasks.attempts = c.column2 "
        f"AND {status_is(RUNNING)} RETURNING id, status",
        (now + lease_seconds, *(v for pair in claims for v in pair)),
    )


def progress(task_id: str, attempt: int, current: int, total: int, now: float) -> list[Statement]:
    """Step counts of a running attempt; then, as the alternative when nothing changed, the
    status if the attempt still runs (no row at all: the lease was lost)."""
    return [
        (
            f"UPDATE tasks SET current_step = ?, total_step = ?, {TOUCH} WHERE {_FENCE} "
            f"AND {status_is(RUNNING)} AND (current_step <> ? OR total_step <> ?) "
            "RETURNING status",
            (current, total, int(now), task_id, attempt, current, total),
        ),
        (
            f"SELECT status FROM tasks WHERE {_FENCE} AND {status_is(RUNNING)}",
            (task_id, attempt),
        ),
    ]


def with_result(moves: list[Move], value_json: str, now: float) -> list[Move]:
    """``moves`` (a finish) that also store the handler's result, as a follow-up of the move
    itself: it runs in the move's transaction, over the rows the move made ``done``, so a
    refused finish leaves no result behind."""
    # ``WHERE true``: SQLite reads ``FROM moved ON CONFLICT`` as a join without it.
    store = (
        "INSERT INTO task_results (task_id, attempt, value, created_at) "
        "SELECT id, attempts, ?, ? FROM moved WHERE true ON CONFLICT (task_id) DO NOTHING",
        (value_json, now),
    )
    return [(update, (*follow, store)) for update, follow in moves]
