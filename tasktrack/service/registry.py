"""The task-type registry: task names → handlers and their options. No I/O.

Both the server (to accept ``POST /tasks`` only for known names) and the worker (to run them)
load the same registry from the application module.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from tasktrack.domain.fairness import DEFAULT_QUEUE
from tasktrack.domain.flow import Limits
from tasktrack.domain.scheduling import QUEUE_RULE, check_priority, valid_queue
from tasktrack.errors import UnknownTaskType
from tasktrack.service.flow import KeyFunction, concurrency_key_of, limits_of
from tasktrack.service.periodic import CATCH_UP, Schedule

Handler = Callable[..., Any]
#: A type without flow control (frozen, so one shared instance is safe as a default).
NO_LIMITS = Limits()
F = TypeVar("F", bound=Handler)


@dataclass(frozen=True, slots=True)
class TaskType:
    """A registered task type.

    Attributes:
        name: the task name clients create, e.g. ``"report.build"``.
        handler: ``handler(data, ctx)``, sync or async.
        total_steps: initial ``totalStep``, or a function of ``data`` giving it; the handler
            may raise it while running.
        max_attempts: runs at most this many times (1 = no retries).
        retry_backoff: seconds before the first retry; doubled on each further retry.
        timeout: seconds an attempt may run before it is stopped and fails; None = no limit.
        capture_output: also store the handler's stdout/stderr lines in the task's log
            (levels ``STDOUT``/``STDERR``); ``ctx.logger`` lines are always stored.
        priority: the default priority of its tasks (higher runs first; a create may
            override it).
        queue: the queue its tasks go to (workers serve some queues); per type only.
        limits: caps on running attempts and starts (see :mod:`tasktrack.service.flow`).
        concurrency_key: the task's concurrency key from its data (a data field's name, or a
            function of ``data``); computed at creation and stored with the task.
    """

    name: str
    handler: Handler
    total_steps: int | Callable[[dict[str, Any]], int] = 0
    max_attempts: int = 1
    retry_backoff: float = 1.0
    timeout: float | None = None
    description: str = ""
    #: Checks ``data`` at creation; raises InvalidArgument with a message for the client.
    validate: Callable[[dict[str, Any]], None] | None = None
    capture_output: bool = False
    priority: int = 0
    queue: str = DEFAULT_QUEUE
    limits: Limits = NO_LIMITS
    concurrency_key: KeyFunction | None = None

    def initial_total(self, data: dict[str, Any]) -> int:
        """``totalStep`` for a new task with ``data``."""
        total = self.total_steps(data) if callable(self.total_steps) else self.total_steps
        return max(int(total), 0)

    def backoff(self, attempt: int) -> float:
        """Delay before the retry that follows ``attempt`` (1-based), capped at an hour."""
        return float(min(self.retry_backoff * 2 ** max(attempt - 1, 0), 3600.0))

    def key_of(self, data: dict[str, Any]) -> str | None:
        """The concurrency key of a new task with ``data`` (None: it has none)."""
        return concurrency_key_of(self.name, self.concurrency_key, data)


class TaskRegistry:
    """Maps task names to :class:`TaskType`. Register with :meth:`task` or :meth:`add`."""

    def __init__(self) -> None:
        self._types: dict[str, TaskType] = {}
        self._schedules: dict[str, Schedule] = {}

    def add(self, task_type: TaskType) -> TaskType:
        name = task_type.name
        if not name or len(name) > 200 or not name.isprintable():
            raise ValueError("a task name must be 1 to 200 printable characters")
        if task_type.name in self._types:
            raise ValueError(f"task type {task_type.name!r} is registered twice")
        if task_type.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if not valid_queue(task_type.queue):
            raise ValueError(f"task type {name!r}: {QUEUE_RULE}")
        check_priority(task_type.priority)
        if task_type.limits.per_key is not None and task_type.concurrency_key is None:
            raise ValueError("key_concurrency needs a concurrency_key")
        self._types[task_type.name] = task_type
        return task_type

    def task(
        self,
        name: str,
        *,
        total_steps: int | Callable[[dict[str, Any]], int] = 0,
        max_attempts: int = 1,
        retry_backoff: float = 1.0,
        timeout: float | None = None,
        validate: Callable[[dict[str, Any]], None] | None = None,
        capture_output: bool = False,
        priority: int = 0,
        queue: str = DEFAULT_QUEUE,
        concurrency: int | None = None,
        rate_limit: str | None = None,
        concurrency_key: KeyFunction | None = None,
        key_concurrency: int | None = None,
    ) -> Callable[[F], F]:
        """Decorator: register the function as the handler of ``name``.

        Flow control (all cluster-wide, see docs/scheduling-limits.md): ``concurrency`` caps
        the type's running attempts; ``rate_limit`` ("10/minute", "100 per 2 hours") caps
        its starts in any such window; ``concurrency_key`` (a field of ``data``, or a
        function of ``data``) gives each task a key, and ``key_concurrency`` (default 1
        when a key is given) caps the running attempts sharing one key."""
        limits = limits_of(concurrency, rate_limit, concurrency_key, key_concurrency)

        def register(fn: F) -> F:
            self.add(
                TaskType(
                    name,
                    fn,
                    total_steps,
                    max_attempts,
                    retry_backoff,
                    timeout,
                    (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else "",
                    validate,
                    capture_output,
                    priority,
                    queue,
                    limits,
                    concurrency_key,
                )
            )
            return fn

        return register

    def include(self, other: TaskRegistry) -> None:
        """Add every type and schedule of ``other`` (to compose registries from modules)."""
        for task_type in other:
            self.add(task_type)
        for schedule in other.schedules():
            self.add_schedule(schedule)

    def periodic(
        self,
        cron: str,
        *,
        name: str | None = None,
        key: str | None = None,
        timezone: str = "UTC",
        data: dict[str, Any] | None = None,
        org: str | None = None,
        catch_up: float = CATCH_UP,
        **task_options: Any,
    ) -> Callable[[F], F]:
        """Decorator: run the function as task ``name`` at every slot of ``cron``.

        Above ``@registry.task(...)`` it schedules that task type; alone it registers the
        function too (named ``module.function`` unless ``name`` is given, with
        ``task_options`` as :meth:`task` takes them). ``key`` names the schedule (default: the
        task name; give one to schedule a task type twice). See
        :class:`~tasktrack.service.periodic.Schedule` for the rest."""

        def register(fn: F) -> F:
            task_name = name or self._name_of(fn) or f"{fn.__module__}.{fn.__qualname__}"
            if task_name not in self._types:
                self.task(task_name, **task_options)(fn)
            schedule = Schedule(
                key or task_name, cron, task_name, timezone, data or {}, org, catch_up
            )
            self.add_schedule(schedule)
            return fn

        return register

    def add_schedule(self, schedule: Schedule) -> Schedule:
        if schedule.task not in self._types:
            raise ValueError(f"schedule {schedule.key!r}: no task type {schedule.task!r}")
        if schedule.key in self._schedules:
            raise ValueError(f"schedule {schedule.key!r} is declared twice (give it a key=)")
        self._schedules[schedule.key] = schedule
        return schedule

    def schedules(self) -> list[Schedule]:
        """The periodic schedules, by key."""
        return [self._schedules[k] for k in sorted(self._schedules)]

    def _name_of(self, fn: Handler) -> str | None:
        return next((t.name for t in self._types.values() if t.handler is fn), None)

    def get(self, name: str) -> TaskType:
        try:
            return self._types[name]
        except KeyError:
            raise UnknownTaskType(f"unknown task name {name!r}") from None

    def names(self) -> list[str]:
        return sorted(self._types)

    def serving(self, queues: Collection[str] = ()) -> tuple[list[str], list[str]]:
        """The task names and queues a worker serving ``queues`` (empty: all) runs.

        Raises ValueError naming a queue no registered type uses (a typo would otherwise
        make a worker that silently runs nothing)."""
        known = {t.queue for t in self._types.values()}
        unknown = sorted(set(queues) - known)
        if unknown:
            raise ValueError(f"no task type is in queue {unknown[0]!r} (known: {sorted(known)})")
        chosen = set(queues) or known
        names = sorted(t.name for t in self._types.values() if t.queue in chosen)
        return names, sorted(chosen)

    def limits(self) -> dict[str, Limits]:
        """The flow-control caps of the types that have any, by name (what a claim needs)."""
        return {t.name: t.limits for t in self._types.values() if t.limits.active}

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def __iter__(self) -> Iterator[TaskType]:
        return iter(list(self._types.values()))

    def __len__(self) -> int:
        return len(self._types)
