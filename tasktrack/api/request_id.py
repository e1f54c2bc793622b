"""Every request gets one id, used everywhere a person may quote it.

The id is, in order of preference: the caller's ``X-Trace-Id`` (what problem+json bodies
echoed before), the trace id of a W3C ``traceparent`` header, the caller's ``X-Request-Id``,
or a new random 128-bit hex id (the shape of a W3C trace id). It is

* bound in :data:`tasktrack.observability.context.request_id` for the request
  (by :class:`~tasktrack.api.edge.EdgeMiddleware`), so every
  log line written while serving it (the access log included) carries it as ``request_id``;
* the ``traceId`` of a problem+json body and its ``X-Trace-Id`` header;
* sent back on every response as ``X-Request-Id``.

Callers' ids are taken only when they are 8 to 64 letters, digits and dashes, so a header
cannot inject text into a log line.
"""

from __future__ import annotations

import re
import secrets

_SANE = re.compile(r"[A-Za-z0-9-]{8,64}\Z")
#: version-traceid-parentid-flags; an all-zero trace id is invalid (W3C Trace Context).
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}\Z")
_ZERO_TRACE = "0" * 32


def sane(value: str) -> bool:
    """True when ``value`` may be used as a request id (and so written to a log)."""
    return bool(_SANE.match(value)) and bool(value.replace("-", ""))


def trace_of(traceparent: str) -> str | None:
    """The trace id of a W3C ``traceparent`` header, or None if it is not a valid one."""
    match = _TRACEPARENT.match(traceparent.strip())
    if match is None or match.group(1) == _ZERO_TRACE:
        return None
    return match.group(1)


def choose(headers: dict[bytes, bytes]) -> str:
    """The request id for a request with these (lower-cased) headers."""
    given = headers.get(b"x-trace-id", b"").decode("latin-1")
    if sane(given):
        return given
    parent = trace_of(headers.get(b"traceparent", b"").decode("latin-1"))
    if parent is not None:
        return parent
    given = headers.get(b"x-request-id", b"").decode("latin-1")
    return given if sane(given) else secrets.token_hex(16)
