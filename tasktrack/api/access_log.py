"""Access log and HTTP metrics of one answered request (recorded by
:class:`~tasktrack.api.edge.EdgeMiddleware`, which times it and captures its status).

The log has method, path (never the query string), status and duration: uvicorn's own access
log prints the query string, where ``api_key`` may sit, so the server runs with it off.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.types import Scope

from tasktrack.metrics import HTTP_LATENCY, HTTP_REQUESTS, route_label

log = logging.getLogger("tasktrack.access")


class RequestRecorder:
    """Counts and times every request; logs it only when ``TASKTRACK_ACCESS_LOG`` is on.

    The per-request log line is off by default (as gunicorn's is): formatting it costs more
    than serving a task read, and a reverse proxy usually logs requests already.
    """

    def __init__(self, access_log: bool = False) -> None:
        self.access_log = access_log
        # labels() costs over a microsecond; the children are cached per label set.
        self._counters: dict[tuple[str, str, str], Any] = {}
        self._timers: dict[tuple[str, str], Any] = {}

    def record(self, scope: Scope, status: int, elapsed: float) -> None:
        method, route = scope["method"], route_label(scope["path"])
        labels = (method, route, str(status))
        counter = self._counters.get(labels)
        if counter is None:
            counter = self._counters[labels] = HTTP_REQUESTS.labels(*labels)
        counter.inc()
        timer = self._timers.get((method, route))
        if timer is None:
            timer = self._timers[(method, route)] = HTTP_LATENCY.labels(method, route)
        timer.observe(elapsed)
        if self.access_log and log.isEnabledFor(logging.INFO):
            _log_request(scope, status, elapsed)


def _log_request(scope: Scope, status: int, elapsed: float) -> None:
    """One line: ``client "METHOD path" status duration``; in JSON also as fields."""
    client = scope.get("client")
    fields = {
        "client": client[0] if client else "-",
        "method": scope["method"],
        "path": scope["path"],
        "status": status,
        "duration_ms": round(elapsed * 1000, 1),
    }
    log.info('%s "%s %s" %d %.1fms', *fields.values(), extra=fields)
