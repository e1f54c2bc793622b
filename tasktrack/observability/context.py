"""The ids a log line carries, kept in context variables.

Context variables follow the code that is running, not the thread: each request (an asyncio
task) sees its own request id, each attempt its own task id, and a log call anywhere below
them (a store error, the access log, a handler's echo) picks them up without being passed
anything. The HTTP adapter binds the request id (:mod:`tasktrack.api.request_id`), the worker
binds task id, attempt and worker id (:mod:`tasktrack.worker.run`).

Other modules that want a request's trace (OpenTelemetry spans, webhooks) read and set it
here too, so that every id a person may quote is the same id.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

#: The request's id: the one in the problem+json ``traceId``, the ``X-Request-Id`` and
#: ``X-Trace-Id`` response headers, and the ``request_id`` of its log lines. When the caller
#: sent a W3C ``traceparent``, it is that header's trace id.
request_id: ContextVar[str | None] = ContextVar("tasktrack_request_id", default=None)
#: The task an attempt runs, its attempt number, and the worker running it.
task_id: ContextVar[str | None] = ContextVar("tasktrack_task_id", default=None)
attempt: ContextVar[int | None] = ContextVar("tasktrack_attempt", default=None)
worker_id: ContextVar[str | None] = ContextVar("tasktrack_worker_id", default=None)

#: Log record attribute -> its variable, in the order log lines show them.
FIELDS: dict[str, ContextVar[Any]] = {
    "request_id": request_id,
    "task_id": task_id,
    "attempt": attempt,
    "worker_id": worker_id,
}


def current() -> dict[str, Any]:
    """The ids set in the running context (unset ones left out)."""
    found = {name: var.get() for name, var in FIELDS.items()}
    return {name: value for name, value in found.items() if value is not None}


@contextlib.contextmanager
def bound(**ids: Any) -> Iterator[None]:
    """Set some of :data:`FIELDS` for the block, and restore them after it."""
    tokens = [(FIELDS[name], FIELDS[name].set(value)) for name, value in ids.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
