"""The document's operations for operators (issue 16): the health probes and the API page."""

from __future__ import annotations

from tasktrack.api.openapi.common import TEXT_BODY, JsonObject
from tasktrack.api.openapi.responses import problem

_CHECKS: JsonObject = {
    "type": "object",
    "description": "Each check by name: whether it passed, and a short reason.",
    "additionalProperties": {
        "type": "object",
        "properties": {"ok": {"type": "boolean"}, "detail": {"type": "string"}},
        "required": ["ok", "detail"],
    },
}
_READY: JsonObject = {
    "type": "object",
    "properties": {"status": {"const": "ready"}, "checks": _CHECKS},
    "required": ["status", "checks"],
}
_ASSET_PATH: JsonObject = {
    "name": "path",
    "in": "path",
    "required": True,
    "description": "The file's name.",
    "schema": {"type": "string"},
}
_LIVE: JsonObject = {
    "type": "object",
    "properties": {"status": {"const": "ok"}},
    "required": ["status"],
}


def _get(
    operation_id: str, summary: str, description: str, responses: JsonObject, **more: object
) -> JsonObject:
    """A public (unauthenticated) GET of the Operations tag."""
    operation = {
        "operationId": operation_id,
        "tags": ["Operations"],
        "summary": summary,
        "description": description,
        "security": [],
        **more,
        "responses": responses,
    }
    return {"get": operation}


def operation_paths() -> dict[str, dict[str, JsonObject]]:
    """``/health/live``, ``/health/ready``, ``/docs`` and its assets."""
    return {
        "/health/live": _get(
            "healthLive",
            "Liveness probe",
            "200 while the process serves HTTP; it reads nothing.",
            {"200": {"description": "Alive.", "content": _json(_LIVE)}},
        ),
        "/health/ready": _get(
            "healthReady",
            "Readiness probe",
            "200 when the database answers a real read within 2 s with the schema version "
            "this server expects (and, with an in-process worker, its claim loop claimed "
            "recently); otherwise a 503 problem whose `details.checks` names what failed.",
            {
                "200": {"description": "Ready.", "content": _json(_READY)},
                "503": problem("Not ready: see details.checks.", 503, (503,)),
            },
        ),
        "/docs": _get(
            "apiDocs",
            "This document as an interactive page",
            "Swagger UI for /openapi.json, served from this server (no other origin).",
            {"200": {"description": "HTML.", "content": {"text/html": {"schema": TEXT_BODY}}}},
        ),
        "/docs/assets/{path}": _get(
            "apiDocsAsset",
            "A file of the API page",
            "Swagger UI's scripts and styles, and the page's own start-up script.",
            {
                "200": {"description": "The file.", "content": {"*/*": {"schema": TEXT_BODY}}},
                "404": problem("No such file.", 404, (1002,)),
            },
            parameters=[_ASSET_PATH],
        ),
    }


def _json(schema: JsonObject) -> JsonObject:
    return {"application/json": {"schema": schema}}
