"""The document's description of ``GET /workers`` and ``GET /overview`` (issue 16), under
both prefixes. Their schemas are inline: each resource is one route's own."""

from __future__ import annotations

from tasktrack.api.openapi.common import PREFIXES, TEXT_BODY, JsonObject, ref
from tasktrack.api.openapi.responses import replies
from tasktrack.domain.workers import WorkerState

_TIME = {"type": "string", "format": "date-time"}
_COUNT = {"type": "integer", "minimum": 0}
_STRINGS = {"type": "array", "items": {"type": "string"}}

_ATTEMPT: JsonObject = {
    "type": "object",
    "required": ["taskId", "attempt", "name", "startedAt"],
    "properties": {
        "taskId": {"type": "string"},
        "attempt": {"type": "integer", "minimum": 1},
        "name": {"type": "string"},
        "startedAt": _TIME,
    },
}

WORKER_SCHEMA: JsonObject = {
    "type": "object",
    "required": [
        "id", "host", "pid", "state", "startedAt", "lastHeartbeatAt",
        "heartbeatIntervalSeconds", "stoppedAt", "taskTypes", "queues", "concurrency",
        "running", "runningAttempts",
    ],
    "properties": {
        "id": {"type": "string"},
        "host": {"type": "string"},
        "pid": {"type": "integer"},
        "state": {
            "type": "string",
            "enum": [s.value for s in WorkerState],
            "description": "dead: three heartbeats missed without deregistering.",
        },
        "startedAt": _TIME,
        "lastHeartbeatAt": _TIME,
        "heartbeatIntervalSeconds": {"type": "number", "exclusiveMinimum": 0},
        "stoppedAt": {"type": ["string", "null"], "format": "date-time"},
        "taskTypes": _STRINGS,
        "queues": _STRINGS,
        "concurrency": {"type": "integer", "minimum": 1},
        "running": {**_COUNT, "description": "Attempts it runs, of every organisation."},
        "runningAttempts": {
            "type": "array",
            "items": _ATTEMPT,
            "description": "The running attempts of the caller's organisation only.",
        },
    },
}  # fmt: skip

_WORKERS: JsonObject = {
    "type": "object",
    "required": ["items", "total", "liveTaskTypes"],
    "properties": {
        "items": {"type": "array", "items": WORKER_SCHEMA},
        "total": _COUNT,
        "liveTaskTypes": {**_STRINGS, "description": "Types some live worker serves."},
        "_links": {"type": "object"},
    },
}

_OVERVIEW: JsonObject = {
    "type": "object",
    "required": ["hours", "since", "until", "bucketSeconds", "finished", "queueDepth", "durations"],
    "properties": {
        "hours": {"type": "integer", "minimum": 1, "maximum": 24},
        "since": {"type": "number", "description": "Unix seconds: the first bucket's start."},
        "until": {"type": "number", "description": "Unix seconds: when it was read."},
        "bucketSeconds": {"type": "integer", "minimum": 60},
        "finished": {
            "type": "array",
            "description": "Per bucket, oldest first: tasks that finished in it, per status.",
            "items": {
                "type": "object",
                "required": ["at", "done", "error", "cancelled"],
                "properties": {
                    "at": {"type": "integer"},
                    "done": _COUNT,
                    "error": _COUNT,
                    "cancelled": _COUNT,
                },
            },
        },
        "queueDepth": {
            "type": "array",
            "description": "Samples kept by the answering server process, then one read now.",
            "items": {
                "type": "object",
                "required": ["at", "queued", "running"],
                "properties": {"at": {"type": "number"}, "queued": _COUNT, "running": _COUNT},
            },
        },
        "durations": {
            "type": "array",
            "description": "Per task type: run times of its done tasks (nearest-rank).",
            "items": {
                "type": "object",
                "required": ["name", "count", "p50Ms", "p90Ms", "p99Ms", "maxMs"],
                "properties": {
                    "name": {"type": "string"},
                    **{k: _COUNT for k in ("count", "p50Ms", "p90Ms", "p99Ms", "maxMs")},
                },
            },
        },
        "_links": {"type": "object"},
    },
}

_STATE = "({})?".format("|".join(s.value for s in WorkerState))
# Blank entries are skipped, blanks around a state ignored; anything else is a 400.
_STATES_PATTERN = rf"^\s*{_STATE}\s*(,\s*{_STATE}\s*)*$"
_STATE_PARAM: JsonObject = {
    "name": "state",
    "in": "query",
    "required": False,
    "description": "Only workers in these states (comma-separated).",
    "schema": {"type": "string", "pattern": _STATES_PATTERN, "example": "live"},
}
_HOURS_PARAM: JsonObject = {
    "name": "hours",
    "in": "query",
    "required": False,
    "description": "The window, 1 to 24 hours (default 1); always 60 buckets.",
    "schema": {"type": "integer", "minimum": 1, "maximum": 24, "default": 1},
}


def _operation(
    op_id: str, summary: str, text: str, schema: JsonObject, param: JsonObject
) -> JsonObject:
    return {
        "operationId": op_id,
        "tags": ["Operations"],
        "summary": summary,
        "description": text,
        "parameters": [param, ref("parameters", "AcceptNoCsv")],
        "responses": {
            "200": {
                "description": summary,
                "content": {
                    "application/hal+json": {"schema": schema},
                    "application/json": {"schema": schema},
                    "application/xml": {"schema": TEXT_BODY},
                    "text/xml": {"schema": TEXT_BODY},
                },
            },
            **replies(
                "BadRequest", "Unauthorized", "NotAcceptable", "TooManyRequests", "InternalError"
            ),
        },
    }


def worker_paths() -> dict[str, dict[str, JsonObject]]:
    """The workers and overview paths under each prefix."""
    paths: dict[str, dict[str, JsonObject]] = {}
    for prefix, suffix in PREFIXES.items():
        paths[f"{prefix}/workers"] = {
            "get": _operation(
                "listWorkers" + suffix,
                "List the workers (ours)",
                "Every registered worker, live, stopped or recently dead, most recent heartbeat "
                "first. Workers serve every organisation: running attempts are counted for all, "
                "named only for the caller's own.",
                _WORKERS,
                _STATE_PARAM,
            )
        }
        paths[f"{prefix}/overview"] = {
            "get": _operation(
                "getOverview" + suffix,
                "The dashboard's overview (ours)",
                "Tasks finished per bucket and status, queue depth over time, and run-time "
                "percentiles per task type, for the caller's organisation.",
                _OVERVIEW,
                _HOURS_PARAM,
            )
        }
    return paths
