"""Turning how an attempt ended into the task's next state, through fenced store writes.

One function, so the rules read in one place:

* returned → ``done`` (even if a cancel was asked meanwhile: the work *was* done);
* stopped on a cancel request (cooperatively or by force) → ``cancelled``;
* raised, or its process died, while attempts remain → ``queued`` after the backoff,
  unless a cancel was asked (a cancel stops retries) → ``cancelled``;
* raised on its last attempt → ``error`` with the exception's message;
* ran past its timeout → ``error`` saying so (a timeout is not retried).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tasktrack.domain.history import Outcome as Ending
from tasktrack.domain.lifecycle import Status
from tasktrack.domain.task import Task
from tasktrack.errors import LeaseLost
from tasktrack.service.registry import TaskType
from tasktrack.storage.base import TaskStore
from tasktrack.worker.process import Outcome

log = logging.getLogger("tasktrack.worker")


@dataclass(frozen=True, slots=True)
class Verdict:
    """Which store write settles an attempt."""

    verb: str  # finish | fail | retry | stop
    reason: str = ""
    delay: float = 0.0
    #: What ``finish`` stores as the task's result.
    result_json: str | None = None
    #: How the attempt is recorded when it fails (a timeout is not an ordinary error).
    ending: Ending = Ending.ERROR


def decide(task: Task, task_type: TaskType, outcome: Outcome, cancelling: bool) -> Verdict:
    """Pure: the verdict for ``outcome`` of attempt ``task.attempts``."""
    if outcome.kind == "done":
        return Verdict("finish", result_json=outcome.result_json)
    if outcome.kind == "timeout":
        return (
            Verdict("stop")
            if cancelling
            else Verdict("fail", outcome.message, ending=Ending.TIMEOUT)
        )
    if cancelling or outcome.kind == "cancelled":
        return Verdict("stop")
    if task.attempts < task.max_attempts:
        return Verdict("retry", outcome.message, task_type.backoff(task.attempts))
    return Verdict("fail", outcome.message)


async def settle(
    store: TaskStore,
    task: Task,
    task_type: TaskType,
    outcome: Outcome,
    cancelling: bool,
    now: float,
) -> Task | None:
    """Apply the verdict; None when this attempt no longer owns the task (fenced out)."""
    verdict = decide(task, task_type, outcome, cancelling)
    try:
        return await _apply(store, task, verdict, now)
    except LeaseLost:
        log.warning(
            "task %s attempt %d lost its lease; its outcome (%s) is discarded",
            task.id,
            task.attempts,
            outcome.kind,
        )
        return None


async def _apply(store: TaskStore, task: Task, verdict: Verdict, now: float) -> Task:
    if verdict.verb == "finish":
        return await store.finish(task.id, task.attempts, now, verdict.result_json)
    if verdict.verb == "stop":
        return await _stop(store, task, now)
    if verdict.verb == "retry":
        log.info(
            "task %s attempt %d failed (%s); retrying in %.1fs",
            task.id,
            task.attempts,
            verdict.reason,
            verdict.delay,
        )
        return await store.retry(
            task.id, task.attempts, now + verdict.delay, now, reason=verdict.reason
        )
    return await store.fail(task.id, task.attempts, verdict.reason, now, outcome=verdict.ending)


async def _stop(store: TaskStore, task: Task, now: float) -> Task:
    try:
        return await store.stop(task.id, task.attempts, now)
    except LeaseLost:
        # "cancelled" outcome but the task is not cancelling (a handler raised
        # TaskCancelled on its own): that is a failure, not a cancellation.
        current = await store.get(task.id)
        if current is None or current.attempts != task.attempts:
            raise
        if current.status is not Status.ACTIVE:
            raise
        return await store.fail(task.id, task.attempts, "handler was cancelled", now)
