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

from collections.abc import Collection, Mapping

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


def claim_queue(
    names: Statement, limit: int, now: float, columns: str = "id", extra: Statement = _NO_EXTRA
) -> Statement:
    """The oldest runnable tasks a claim takes (``names`` matches the name column, as the
    dialect writes a list). Read in ``tasks_claim`` index order.

    A limited claim (:mod:`~tasktrack.storage.flow_sql`) reads more ``columns`` and adds an
    ``extra`` condition (the concurrency keys at their cap)."""
    more = f" AND {extra[0]}" if extra[0] else ""
    return (
        f"SELECT {columns} FROM tasks WHERE {status_is(sources('claim'))} AND run_after <= ? "
        f"AND {names[0]}{more} ORDER BY run_after, id LIMIT ?",
        (now, *names[1], *extra[1], limit),
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
