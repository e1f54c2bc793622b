"""The synchronous client: a thin ``httpx.Client`` transport over :mod:`tasktrack.client.core`."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any

import httpx

from tasktrack.client import core, results, schedules
from tasktrack.client.attempts import Attempts, attempts_request, parse_attempts
from tasktrack.client.core import DEFAULT_BASE_PATH, DEFAULT_TIMEOUT, DEFAULT_URL, FilterValue
from tasktrack.client.logs import LogLine, LogPage, parse_logs, read_logs
from tasktrack.client.models import Task, TaskPage
from tasktrack.client.results import TaskDetails, TaskResult
from tasktrack.client.schedules import Schedule
from tasktrack.client.workers import Workers, parse_workers, warn_from, workers_request


class TaskTrackClient:
    """A client of the Tasks API (tasktrack or any other server of the contract).

    Use it as a context manager, or call :meth:`close`. Every method raises an
    :class:`~tasktrack.client.errors.ApiError` subclass for an error answer and a
    :class:`~tasktrack.client.errors.TransportError` when the server cannot be reached. Only
    connection failures of GET requests are retried, once; nothing else is retried.

    Args:
        base_url: The server, e.g. ``http://127.0.0.1:8000``.
        api_key: Sent as ``X-API-Key``.
        token: An OAuth 2.0 access token, sent as ``Authorization: Bearer`` (instead of a key).
        base_path: Where the API lives on the server: ``/v2.0`` (default) or ``/new/v2.0``.
        timeout: Seconds for connecting and for each read (a long-poll adds its wait).
        transport: An ``httpx`` transport, e.g. ``httpx.MockTransport`` in tests.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        api_key: str | None = None,
        token: str | None = None,
        base_path: str = DEFAULT_BASE_PATH,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._api = core.Api(
            base_url, api_key=api_key, token=token, base_path=base_path, timeout=timeout
        )
        self._http = httpx.Client(headers=self._api.headers, transport=transport)

    def __enter__(self) -> TaskTrackClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def _send(self, spec: core.RequestSpec) -> httpx.Response:
        request = self._api.request(self._http, spec)
        attempt = 0
        while True:
            try:
                return self._http.send(request)
            except httpx.HTTPError as exc:
                if not core.should_retry(spec, exc, attempt):
                    raise core.transport_error(exc, request) from exc
                attempt += 1

    def get(self, task_id: str, *, project_id: str | None = None) -> Task:
        """Read one task.

        Args:
            task_id: The task's ``_id``.
            project_id: Only find it within this project.
        """
        return core.parse_task(self._send(self._api.read_task(task_id, project_id=project_id)))

    def create(
        self,
        name: str,
        data: Mapping[str, Any] | None = None,
        *,
        project_id: str | None = None,
        idempotency_key: str | None = None,
        unique_key: str | None = None,
        run_at: datetime | float | str | None = None,
        delay_seconds: float | None = None,
        priority: int | None = None,
    ) -> Task:
        """Create (enqueue) a task of a registered type.

        Args:
            name: The task type, e.g. ``demo.sleep``.
            data: The task's parameters (a JSON object).
            project_id: Put the task in this project.
            idempotency_key: Send it as ``Idempotency-Key``: repeating the call (the client
                retries it on connection errors) returns the first call's task.
            unique_key: While an unfinished task with this key exists, return it instead.
            run_at: Run it no earlier than this (an aware datetime, ISO 8601 text or Unix
                seconds); it waits ``queued`` until then.
            delay_seconds: Run it no earlier than this many seconds from now.
            priority: Override the task type's priority (higher runs first).
        """
        schedule = core.schedule_body(run_at, delay_seconds, priority)
        spec = self._api.create_task(
            name,
            data,
            project_id,
            schedule,
            idempotency_key=idempotency_key,
            unique_key=unique_key,
        )
        response = self._send(spec)
        return core.parse_task(warn_from(response))

    def cancel(self, task_id: str, *, project_id: str | None = None) -> Task:
        """Ask for a task to be cancelled; returns it as ``cancelling`` or ``cancelled``.

        Args:
            task_id: The task's ``_id``.
            project_id: Only find it within this project.
        """
        return core.parse_task(self._send(self._api.cancel_task(task_id, project_id)))

    def list_page(
        self,
        *,
        status: FilterValue | None = None,
        name: FilterValue | None = None,
        text: str | None = None,
        sort: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        project_id: str | None = None,
        filters: Mapping[str, FilterValue] | None = None,
    ) -> TaskPage:
        """Read one page of tasks.

        Args:
            status: Only these statuses (one, or several as a list).
            name: Only these task types.
            text: Case-insensitive substring of the name (the contract's ``filter``).
            sort: E.g. ``createdAt:desc,name:asc`` (default: newest first).
            limit: Page size, 1 to 100 (server default 25).
            cursor: ``next_cursor`` of the page before.
            project_id: Only tasks of this project.
            filters: Further equality filters by contract field name, e.g. ``{"totalStep": 4}``.
        """
        spec = self._api.index_tasks(
            status=status,
            name=name,
            text=text,
            sort=sort,
            limit=limit,
            cursor=cursor,
            project_id=project_id,
            filters=filters,
        )
        return core.parse_page(self._send(spec))

    def list(
        self,
        *,
        status: FilterValue | None = None,
        name: FilterValue | None = None,
        text: str | None = None,
        sort: str | None = None,
        page_size: int | None = None,
        project_id: str | None = None,
        filters: Mapping[str, FilterValue] | None = None,
    ) -> Iterator[Task]:
        """Every matching task, fetching pages lazily through the cursors as you iterate.

        Args:
            status: Only these statuses.
            name: Only these task types.
            text: Case-insensitive substring of the name.
            sort: The order, e.g. ``createdAt:asc``.
            page_size: Tasks per request, 1 to 100.
            project_id: Only tasks of this project.
            filters: Further equality filters by contract field name.
        """
        query: dict[str, Any] = {"status": status, "name": name, "text": text, "sort": sort}
        query.update(limit=page_size, project_id=project_id, filters=filters)
        cursor: str | None = None
        while True:
            page = self.list_page(cursor=cursor, **query)
            yield from page.items
            cursor = core.next_cursor(page, cursor)
            if cursor is None:
                return

    def watch(
        self,
        task_id: str,
        *,
        timeout: float | None = None,
        max_wait: float = 30.0,
        poll_interval: float = 1.0,
    ) -> Iterator[Task]:
        """Yield the task now and on every change, until it is terminal (the last item).

        Long-polls with ``?wait=`` and ``If-None-Match``; against a server that ignores
        ``wait`` it polls every ``poll_interval`` seconds.

        Args:
            task_id: The task's ``_id``.
            timeout: Give up after this many seconds with
                :class:`~tasktrack.client.errors.WaitTimeout` (None: never).
            max_wait: The longest single long-poll, at most 60 seconds.
            poll_interval: The least time between two requests that brought no change.
        """
        watcher = core.Watcher(
            self._api, task_id, timeout=timeout, max_wait=max_wait, poll_interval=poll_interval
        )
        while not watcher.done:
            spec = watcher.next_request()
            started = time.monotonic()
            response = self._send(spec)
            task, pause = watcher.feed(spec, response, time.monotonic() - started)
            if task is not None:
                yield task
            if pause > 0 and not watcher.done:
                time.sleep(pause)

    def wait(self, task_id: str, *, timeout: float | None = None, max_wait: float = 30.0) -> Task:
        """Wait until the task is terminal and return it.

        Args:
            task_id: The task's ``_id``.
            timeout: Give up after this many seconds with
                :class:`~tasktrack.client.errors.WaitTimeout` (None: never).
            max_wait: The longest single long-poll, at most 60 seconds.
        """
        final: Task | None = None
        for task in self.watch(task_id, timeout=timeout, max_wait=max_wait):
            final = task
        assert final is not None  # watch yields at least once, or raises
        return final

    # -- results, details, re-runs (issue 13) ------------------------------------------------

    def result(self, task_id: str, *, project_id: str | None = None) -> TaskResult:
        """A finished task's result: the handler's return value (``.value``) for a done task,
        ``.fail_reason`` for an error one. Raises Conflict while the task is unfinished."""
        spec = results.read_result(self._api, task_id, project_id)
        return results.parse_result(self._send(spec))

    def wait_result(
        self, task_id: str, *, timeout: float | None = None, max_wait: float = 30.0
    ) -> TaskResult:
        """Wait until the task is terminal (as :meth:`wait`), then return its result.

        :meth:`wait` keeps returning the Task, as it always has; this is the same wait
        followed by :meth:`result`."""
        self.wait(task_id, timeout=timeout, max_wait=max_wait)
        return self.result(task_id)

    def schedules(self) -> tuple[Schedule, ...]:
        """The periodic schedules of the caller's organisation, with next and last run."""
        return schedules.parse_schedules(self._send(schedules.read_schedules(self._api)))

    def details(self, task_id: str, *, project_id: str | None = None) -> TaskDetails:
        """Facts beside the task's fields: attempts, re-run links, whether it has a result."""
        spec = results.read_details(self._api, task_id, project_id)
        return results.parse_details(self._send(spec))

    def rerun(self, task_id: str, *, project_id: str | None = None) -> Task:
        """Create a new task with a finished task's name, data and project, linked to it.
        Raises Conflict if the task has not finished."""
        spec = results.rerun_task(self._api, task_id, project_id)
        return core.parse_task(warn_from(self._send(spec)))

    def attempts(self, task_id: str, *, project_id: str | None = None) -> Attempts:
        """The task's attempts, oldest first (the running one, if any, last).

        Args:
            task_id: The task's ``_id``.
            project_id: Only find it within this project.
        """
        spec = attempts_request(self._api, task_id, project_id)
        return parse_attempts(self._send(spec))

    # -- per-task logs (issue 13) -----------------------------------------------------------

    def logs(
        self,
        task_id: str,
        after: int | None = None,
        *,
        limit: int | None = None,
        wait: float | None = None,
    ) -> LogPage:
        """One page of the task's stored log lines after the cursor ``after``.

        Args:
            task_id: The task's ``_id``.
            after: The ``next`` of an earlier page (None: from the start).
            limit: At most this many lines (server default 100, at most 1000).
            wait: Long-poll up to this many seconds for a new line (at most 60).
        """
        return parse_logs(self._send(read_logs(self._api, task_id, after, limit, wait)))

    def follow_logs(
        self, task_id: str, after: int | None = None, *, max_wait: float = 30.0
    ) -> Iterator[LogLine]:
        """Yield the task's log lines as they are stored, until the task is terminal and
        every line was yielded (long-polls ``max_wait`` seconds at a time)."""
        while True:
            page = self.logs(task_id, after, limit=1000, wait=max_wait)
            yield from page.items
            if page.finished:
                return
            after = page.next

    def delete(self, task_id: str, *, project_id: str | None = None) -> None:
        """Delete a finished task with its result, attempts and logs.

        Raises :class:`~tasktrack.client.errors.Conflict` while it is not finished,
        :class:`~tasktrack.client.errors.NotFound` if there is no such task.

        Args:
            task_id: The task's ``_id``.
            project_id: Only find it within this project.
        """
        core.check(self._send(self._api.delete_task(task_id, project_id)))

    def workers(self, *, state: str | None = None) -> Workers:
        """The worker registry (issue 16): every worker (or those in ``state``: live,
        stopped, dead, or a comma list) and the task types some live worker serves."""
        return parse_workers(self._send(workers_request(self._api, state)))
