"""tasktrack: define long operations as Python functions, run them on durable workers,
and track them over a Cognigy.AI v2.0-compatible Tasks API.

Public API: :class:`TaskRegistry` to register handlers, :class:`TaskContext` they receive,
:class:`TaskCancelled`, :class:`Status`.
"""

from tasktrack.domain.lifecycle import Status
from tasktrack.service.registry import TaskRegistry, TaskType
from tasktrack.worker.context import TaskCancelled, TaskContext

__version__ = "0.1.0"
__all__ = ["Status", "TaskCancelled", "TaskContext", "TaskRegistry", "TaskType", "__version__"]
