"""What the client raises: one exception class per kind of failure.

Every error of the server arrives as ``application/problem+json`` (RFC 7807 plus Cognigy's
``code``, ``traceId`` and ``details``); :func:`error_from_response` turns it into the
:class:`ApiError` subclass for its HTTP status. A body that is not problem+json (a proxy's HTML
page, say) still gives a useful error with the status and the start of the text.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any, ClassVar

import httpx


class ClientError(Exception):
    """Base of everything the tasktrack client raises."""


class TransportError(ClientError):
    """The server could not be reached, or the connection failed or timed out."""

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class WaitTimeout(ClientError):
    """A task did not reach a terminal status within the time given to ``wait``/``watch``."""

    def __init__(self, task_id: str, timeout: float, last: Any = None) -> None:
        super().__init__(f"task {task_id} did not finish within {timeout:g} s")
        self.task_id = task_id
        self.timeout = timeout
        #: The last state seen (a :class:`~tasktrack.client.models.Task`), if any.
        self.last = last


class ApiError(ClientError):
    """The server answered with an error status (or with a body that is not what was asked).

    Attributes:
        status: The HTTP status.
        code: The contract's error code (e.g. 1002 for not found), if the server sent one.
        detail: The human-readable explanation.
        trace_id: The server's trace id, to quote when reporting a problem.
        title: The problem's title (the status phrase).
        details: The problem's ``details`` object.
    """

    #: The status this class stands for (0: any).
    http_status: ClassVar[int] = 0

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: int | None = None,
        trace_id: str | None = None,
        title: str = "",
        details: dict[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.detail = detail
        self.trace_id = trace_id
        self.title = title or _phrase(status)
        self.details = details or {}
        super().__init__(self.summary())

    def summary(self) -> str:
        """One line: status, title, detail, code and trace id."""
        extra = [f"code {self.code}"] if self.code is not None else []
        if self.trace_id:
            extra.append(f"traceId {self.trace_id}")
        tail = f" ({', '.join(extra)})" if extra else ""
        detail = " ".join(self.detail.split())
        return f"{self.status} {self.title}: {detail}{tail}"


class BadRequest(ApiError):
    """400: a malformed id, parameter or body."""

    http_status = 400


class Unauthorized(ApiError):
    """401: no or bad credentials."""

    http_status = 401


class Forbidden(ApiError):
    """403: authenticated, but not allowed (e.g. a read-only key creating a task)."""

    http_status = 403


class NotFound(ApiError):
    """404: no such task for this caller."""

    http_status = 404


class NotAcceptable(ApiError):
    """406: the server cannot produce the media type asked for."""

    http_status = 406


class Conflict(ApiError):
    """409: e.g. cancelling a task that has already finished."""

    http_status = 409


class PayloadTooLarge(ApiError):
    """413: the request body is too large."""

    http_status = 413


class RateLimited(ApiError):
    """429: too many requests; :attr:`retry_after` says how many seconds to wait, if known."""

    http_status = 429

    def __init__(
        self, status: int, detail: str, *, retry_after: float | None = None, **kw: Any
    ) -> None:
        self.retry_after = retry_after
        super().__init__(status, detail, **kw)


class ServerError(ApiError):
    """5xx: the server failed; quote :attr:`trace_id` when reporting it."""


class UnexpectedResponse(ApiError):
    """The server answered successfully, but not with what the contract promises."""


_BY_STATUS: dict[int, type[ApiError]] = {
    cls.http_status: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        NotAcceptable,
        Conflict,
        PayloadTooLarge,
        RateLimited,
    )
}


def error_from_response(response: httpx.Response) -> ApiError:
    """The :class:`ApiError` for an error ``response`` (its body already read)."""
    status = response.status_code
    problem = _problem(response)
    detail = problem.get("detail")
    if not isinstance(detail, str) or not detail:
        detail = _text_excerpt(response) or _phrase(status)
    code = problem.get("code")
    trace_id = problem.get("traceId") or response.headers.get("x-trace-id")
    title = problem.get("title")
    details = problem.get("details")
    kwargs: dict[str, Any] = {
        "code": code if isinstance(code, int) and not isinstance(code, bool) else None,
        "trace_id": trace_id if isinstance(trace_id, str) else None,
        "title": title if isinstance(title, str) else "",
        "details": details if isinstance(details, dict) else None,
    }
    if status == 429:
        return RateLimited(status, detail, retry_after=retry_after(response), **kwargs)
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    return cls(status, detail, **kwargs)


def retry_after(response: httpx.Response, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), if any."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _problem(response: httpx.Response) -> dict[str, Any]:
    if "json" not in response.headers.get("content-type", ""):
        return {}
    try:
        body = json.loads(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _text_excerpt(response: httpx.Response, limit: int = 200) -> str:
    text = " ".join(response.content[: limit * 4].decode("utf-8", errors="replace").split())
    return text[:limit]


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
