"""The client's logic, without I/O: request specs, response parsing, retries, the watch loop.

The synchronous and asynchronous clients are thin transports over this module: they turn a
:class:`RequestSpec` into an ``httpx`` request, send it, and hand the response back here. So the
two share every rule (headers, paths, parameters, error mapping, when to retry, how a watch
long-polls) and differ only in ``send``/``await send`` and ``sleep``/``await sleep``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import httpx

from tasktrack.client.errors import (
    TransportError,
    UnexpectedResponse,
    WaitTimeout,
    error_from_response,
)
from tasktrack.client.models import MalformedTask, Task, TaskPage

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_BASE_PATH = "/v2.0"
DEFAULT_TIMEOUT = 30.0
#: The longest ``?wait=`` the contract allows; a watch asks for at most this per request.
MAX_LONG_POLL = 60.0
JSON = "application/json"
#: Connection failures after which an idempotent GET is sent once more.
RETRYABLE = (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)

FilterValue = str | int | Sequence[str | int]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """One request, independent of any transport."""

    method: Literal["GET", "POST", "DELETE"]
    path: str
    params: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    body: Mapping[str, Any] | None = None
    #: Seconds the server may hold the request (``?wait=``), added to the read timeout.
    long_poll: float = 0.0

    @property
    def idempotent(self) -> bool:
        # A create with an Idempotency-Key is safe to repeat: the server replays its answer.
        return self.method == "GET" or any(k == "Idempotency-Key" for k, _ in self.headers)


class Api:
    """Request building and response parsing for one server: base path and credentials."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        token: str | None = None,
        base_path: str = DEFAULT_BASE_PATH,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"server URL must start with http:// or https://, got {base_url!r}")
        if api_key and token:
            raise ValueError("give either api_key or token, not both")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.base_url = base_url.rstrip("/")
        self.base_path = "/" + base_path.strip("/") if base_path.strip("/") else ""
        self.timeout = timeout
        self.headers = {"Accept": JSON, "User-Agent": "tasktrack-client"}
        if api_key:
            self.headers["X-API-Key"] = api_key
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def _path(self, *parts: str) -> str:
        return self.base_path + "/tasks" + "".join("/" + quote(p, safe="") for p in parts)

    def read_task(
        self,
        task_id: str,
        *,
        wait: float | None = None,
        etag: str | None = None,
        project_id: str | None = None,
    ) -> RequestSpec:
        """``GET /tasks/{id}``, optionally long-polling ``wait`` seconds past ``etag``."""
        params = _project(project_id)
        if wait is not None:
            params += (("wait", _seconds(wait)),)
        headers = (("If-None-Match", etag),) if etag else ()
        return RequestSpec("GET", self._path(task_id), params, headers, long_poll=wait or 0.0)

    def index_tasks(
        self,
        *,
        status: FilterValue | None = None,
        name: FilterValue | None = None,
        text: str | None = None,
        sort: str | None = None,
        limit: int | None = None,
        skip: int | None = None,
        cursor: str | None = None,
        previous: str | None = None,
        project_id: str | None = None,
        filters: Mapping[str, FilterValue] | None = None,
    ) -> RequestSpec:
        """``GET /tasks`` with the contract's query parameters."""
        params: list[tuple[str, str]] = []
        fields = {"status": status, "name": name, **(filters or {})}
        params += [
            (key, _alternatives(value)) for key, value in fields.items() if value is not None
        ]
        for key, value in (
            ("filter", text),
            ("sort", sort),
            ("limit", limit),
            ("skip", skip),
            ("next", cursor),
            ("previous", previous),
        ):
            if value is not None:
                params.append((key, str(value)))
        return RequestSpec("GET", self._path(), tuple(params) + _project(project_id))

    def create_task(
        self,
        name: str,
        data: Mapping[str, Any] | None = None,
        project_id: str | None = None,
        schedule: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        unique_key: str | None = None,
    ) -> RequestSpec:
        """``POST /tasks`` with ``{"name", "data", "projectId", "uniqueKey"}``, the scheduling
        options of ``schedule`` (see :func:`schedule_body`) and, given a key, the
        ``Idempotency-Key`` header (issue 14)."""
        body: dict[str, Any] = {"name": name, "data": dict(data or {})}
        if project_id is not None:
            body["projectId"] = project_id
        if unique_key is not None:
            body["uniqueKey"] = unique_key
        body.update(schedule or {})
        headers = () if idempotency_key is None else (("Idempotency-Key", idempotency_key),)
        return RequestSpec("POST", self._path(), headers=headers, body=body)

    def cancel_task(self, task_id: str, project_id: str | None = None) -> RequestSpec:
        """``POST /tasks/{id}/cancel``."""
        return RequestSpec("POST", self._path(task_id, "cancel"), _project(project_id))

    def delete_task(self, task_id: str, project_id: str | None = None) -> RequestSpec:
        """``DELETE /tasks/{id}`` (a finished task)."""
        return RequestSpec("DELETE", self._path(task_id), _project(project_id))

    def request(self, http: httpx.Client | httpx.AsyncClient, spec: RequestSpec) -> httpx.Request:
        """The ``httpx`` request for ``spec`` (both client kinds build requests alike)."""
        read = self.timeout + spec.long_poll
        return http.build_request(
            spec.method,
            self.base_url + spec.path,
            params=list(spec.params),
            headers=dict(spec.headers),
            json=spec.body,
            timeout=httpx.Timeout(self.timeout, read=read),
        )


def check(response: httpx.Response) -> None:
    """Raise the :class:`~tasktrack.client.errors.ApiError` for an error status."""
    if response.status_code >= 400:
        raise error_from_response(response)
    if not 200 <= response.status_code < 300:
        raise UnexpectedResponse(response.status_code, "unexpected status for this request")


def parse_task(response: httpx.Response) -> Task:
    """The task in a successful response; raises for an error or a body that is not a task."""
    return _decode(response, Task.from_json)


def parse_page(response: httpx.Response) -> TaskPage:
    """The page of tasks in a successful list response."""
    return _decode(response, TaskPage.from_json)


def _decode(response: httpx.Response, parse: Callable[[Any], T]) -> T:
    check(response)
    kind = response.headers.get("content-type", "no content type")
    try:
        return parse(response.json())
    except MalformedTask as exc:
        raise UnexpectedResponse(response.status_code, f"{exc} ({kind})") from None
    except ValueError:
        raise UnexpectedResponse(response.status_code, f"the body is not JSON ({kind})") from None


def next_cursor(page: TaskPage, cursor: str | None) -> str | None:
    """The cursor of the page after ``page`` (read with ``cursor``); None at the end, also when
    a server hands back the same cursor or an empty page with a cursor (no endless loop)."""
    if page.next_cursor is None or page.next_cursor == cursor or not page.items:
        return None
    return page.next_cursor


def should_retry(spec: RequestSpec, exc: Exception, attempt: int) -> bool:
    """Only a connection failure of an idempotent GET is retried, and only once."""
    return spec.idempotent and attempt == 0 and isinstance(exc, RETRYABLE)


def transport_error(exc: httpx.HTTPError, request: httpx.Request) -> TransportError:
    """A one-line :class:`TransportError` for an ``httpx`` failure."""
    origin = f"{request.url.scheme}://{request.url.netloc.decode()}"
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        message = f"timed out talking to {origin} ({reason})"
    elif isinstance(exc, httpx.ConnectError):
        message = f"cannot connect to {origin}: {reason}"
    else:
        message = f"request to {origin} failed: {reason}"
    return TransportError(" ".join(message.split()), url=str(request.url))


class Watcher:
    """The watch loop as a state machine: which request next, what a response means.

    The first request reads the task; each later one long-polls (``?wait=``, with the last
    ``ETag`` in ``If-None-Match``), so the server answers as soon as anything changes. A server
    that ignores ``wait`` answers at once without a change: the loop then pauses until
    ``poll_interval`` has passed since the request started, i.e. it polls once a second. A
    server that refuses ``wait`` with a 400 is polled without it.
    """

    def __init__(
        self,
        api: Api,
        task_id: str,
        *,
        timeout: float | None = None,
        max_wait: float = 30.0,
        poll_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if timeout is not None and timeout < 0:
            raise ValueError("timeout must not be negative")
        self.api = api
        self.task_id = task_id
        self.timeout = timeout
        self.max_wait = min(max(max_wait, 0.0), MAX_LONG_POLL)
        self.poll_interval = poll_interval
        self.clock = clock
        self.deadline = None if timeout is None else clock() + timeout
        self.last: Task | None = None
        self.etag: str | None = None
        self.use_wait = True
        self.done = False

    def remaining(self) -> float | None:
        """Seconds left before the deadline (None: no deadline)."""
        return None if self.deadline is None else max(0.0, self.deadline - self.clock())

    def next_request(self) -> RequestSpec:
        """The next request; raises :class:`WaitTimeout` once the deadline has passed."""
        if self.last is None:
            return self.api.read_task(self.task_id)
        remaining = self.remaining()
        if remaining is not None and remaining <= 0:
            raise WaitTimeout(self.task_id, self.timeout or 0.0, self.last)
        if not self.use_wait:
            return self.api.read_task(self.task_id, etag=self.etag)
        wait = self.max_wait if remaining is None else min(self.max_wait, remaining)
        return self.api.read_task(self.task_id, wait=wait, etag=self.etag)

    def feed(
        self, spec: RequestSpec, response: httpx.Response, elapsed: float
    ) -> tuple[Task | None, float]:
        """Take a response; returns the task if it changed, and seconds to pause before the
        next request."""
        pause = max(0.0, self.poll_interval - elapsed)
        remaining = self.remaining()
        if remaining is not None:
            pause = min(pause, remaining)
        if response.status_code == 304 and self.last is not None:
            return None, pause
        if response.status_code == 400 and spec.long_poll and self.use_wait:
            self.use_wait = False  # this server does not take ?wait=: poll instead
            return None, pause
        task = parse_task(response)
        self.etag = response.headers.get("etag") or None
        changed = self.last is None or dict(task.raw) != dict(self.last.raw)
        self.last = task
        self.done = task.is_terminal
        return (task, 0.0) if changed else (None, pause)


def schedule_body(
    run_at: datetime | float | str | None = None,
    delay_seconds: float | None = None,
    priority: int | None = None,
) -> dict[str, Any]:
    """The create body's scheduling options that were given: ``runAt`` (a datetime is sent
    as ISO 8601, and must be timezone-aware), ``delaySeconds``, ``priority``."""
    if isinstance(run_at, datetime):
        if run_at.tzinfo is None:
            raise ValueError("run_at must be timezone-aware (e.g. datetime.now(UTC))")
        run_at = run_at.isoformat()
    given = {"runAt": run_at, "delaySeconds": delay_seconds, "priority": priority}
    return {k: v for k, v in given.items() if v is not None}


def _project(project_id: str | None) -> tuple[tuple[str, str], ...]:
    return (("projectId", project_id),) if project_id is not None else ()


def _alternatives(value: FilterValue) -> str:
    if isinstance(value, str | int):
        return str(value)
    return ",".join(str(v) for v in value)


def _seconds(value: float) -> str:
    if not 0 <= value <= MAX_LONG_POLL:
        raise ValueError(f"wait must be between 0 and {MAX_LONG_POLL:g} seconds")
    return f"{value:.3f}".rstrip("0").rstrip(".") or "0"
