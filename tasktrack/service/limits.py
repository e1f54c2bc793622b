"""Caps on what a client may store in a task's ``data``.

A task's data rides along on every read, list page and worker claim, so it is bounded:
at most :data:`MAX_DATA_BYTES` of compact JSON and :data:`MAX_DATA_DEPTH` levels of nesting.
"""

from __future__ import annotations

from typing import Any

import orjson

from tasktrack.errors import InvalidArgument

MAX_DATA_BYTES = 64 * 1024
MAX_DATA_DEPTH = 32


def check_data(data: Any) -> None:
    """Raise InvalidArgument unless ``data`` is a JSON object within the caps."""
    if not isinstance(data, dict):
        raise InvalidArgument("data must be a JSON object")
    _check_depth(data, 1)
    try:
        size = len(orjson.dumps(data))
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise InvalidArgument(f"data is not representable as JSON: {exc}") from None
    if size > MAX_DATA_BYTES:
        raise InvalidArgument(f"data is {size} bytes of JSON; the limit is {MAX_DATA_BYTES}")


def _check_depth(value: Any, depth: int) -> None:
    if depth > MAX_DATA_DEPTH:
        raise InvalidArgument(f"data is nested deeper than {MAX_DATA_DEPTH} levels")
    if isinstance(value, dict):
        for item in value.values():
            _check_depth(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_depth(item, depth + 1)
