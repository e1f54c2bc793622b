"""The OpenAPI document (placeholder until the full document lands)."""

from __future__ import annotations

import orjson

from tasktrack.service.registry import TaskRegistry


def openapi_document(registry: TaskRegistry) -> bytes:
    return orjson.dumps(
        {"openapi": "3.1.0", "info": {"title": "tasktrack", "version": "0.1.0"}, "paths": {}}
    )
