"""Prometheus metrics, one set per process.

Counters are process-local, as Prometheus expects: scrape every API process (``/metrics``)
and every worker (``tasktrack worker --metrics-port P``). ``tasktrack_tasks`` is the
exception: it counts tasks in the database by status, read when scraped, so any one API
process gives the whole picture. It is an aggregate over all organisations (no ids, no
names), which is why ``/metrics`` needs no credentials; put it behind your network's
monitoring access rules.
"""

from __future__ import annotations

import re

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "tasktrack_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "tasktrack_http_request_duration_seconds",
    "Time to answer an HTTP request (long-polls included)",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60),
)
TASKS = Gauge("tasktrack_tasks", "Tasks in the database by status", ["status"])
ATTEMPTS = Counter(
    "tasktrack_worker_attempts_total",
    "Task attempts settled by this process's worker, by task type and how they ended",
    ["name", "outcome"],
)
ATTEMPT_DURATION = Histogram(
    "tasktrack_worker_attempt_duration_seconds",
    "How long attempts ran in this process's worker",
    ["name"],
    buckets=(0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600),
)
RUNNING = Gauge("tasktrack_worker_running", "Attempts running in this process's worker now")

_ID = re.compile(r"/[0-9a-f]{24}(?=/|$)")
#: Route labels we keep; anything else is "other", so 404 probes cannot explode cardinality.
KNOWN_ROUTES = frozenset(
    f"{prefix}{path}"
    for prefix in ("/v2.0", "/new/v2.0")
    for path in ("/tasks", "/tasks/{id}", "/tasks/{id}/cancel", "/events")
) | {"/", "/health", "/metrics", "/openapi.json", "/auth/oauth2/token", "/auth/oauth2/revoke"}


def route_label(path: str) -> str:
    """The route template of ``path`` (ids folded), or "other"."""
    label = _ID.sub("/{id}", path)
    if label in KNOWN_ROUTES:
        return label
    return "/static" if path.startswith("/static/") else "other"
