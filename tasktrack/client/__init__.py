"""A Python client of the Tasks API, synchronous and asynchronous.

Example::

    from tasktrack.client import TaskTrackClient

    with TaskTrackClient("http://127.0.0.1:8000", api_key="tt_...") as client:
        task = client.create("demo.sleep", {"seconds": 2, "steps": 4})
        final = client.wait(task.id, timeout=60)
        print(final.status)
        print(client.result(task.id).value)  # what the handler returned (done tasks)
"""

from tasktrack.client.asynchronous import AsyncTaskTrackClient
from tasktrack.client.attempts import TaskAttempt
from tasktrack.client.errors import (
    ApiError,
    BadRequest,
    ClientError,
    Conflict,
    Forbidden,
    NotAcceptable,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
    UnexpectedResponse,
    WaitTimeout,
)
from tasktrack.client.models import Task, TaskPage, TaskStatus
from tasktrack.client.results import TaskDetails, TaskResult
from tasktrack.client.sync import TaskTrackClient

__all__ = [
    "ApiError",
    "AsyncTaskTrackClient",
    "BadRequest",
    "ClientError",
    "Conflict",
    "Forbidden",
    "NotAcceptable",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "ServerError",
    "Task",
    "TaskAttempt",
    "TaskDetails",
    "TaskPage",
    "TaskResult",
    "TaskStatus",
    "TaskTrackClient",
    "TransportError",
    "Unauthorized",
    "UnexpectedResponse",
    "WaitTimeout",
]

# Per-task logs (issue 13): ``client.logs(id)`` and ``client.follow_logs(id)``.
from tasktrack.client.logs import LogLine, LogPage

__all__ += ["LogLine", "LogPage"]

# The worker registry and server warnings (issue 16): ``client.workers()``; a create of a type
# no live worker serves issues a ServerWarning.
from tasktrack.client.workers import ServerWarning, WorkerInfo, Workers  # noqa: E402

__all__ += ["ServerWarning", "WorkerInfo", "Workers"]
