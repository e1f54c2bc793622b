"""Reading a JSON request body: its media type (415), a size cap (413) and clear 400s.

Integers are kept exactly or refused: orjson reads integers from -2^63 to 2^64-1 exactly and
turns larger ones into floats, which would store ``123456789012345678901234567890`` as
``1.2345678901234568e+29`` without a word. Such a body is a 400 naming the JSON path of the
number instead. (Both stores keep ``data`` as JSON text, so every integer in that range is
read back exactly on SQLite and PostgreSQL alike.)
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.requests import Request

from tasktrack.errors import BodyTooLarge, InvalidArgument, TaskTrackError

#: The integers a body may hold: the ones orjson parses exactly.
SMALLEST_INT = -(2**63)
LARGEST_INT = 2**64 - 1


class UnsupportedMediaType(TaskTrackError):
    """The body is not declared as JSON (415)."""


def require_json(content_type: str | None) -> None:
    """Raise UnsupportedMediaType unless ``content_type`` is ``application/json`` or
    ``application/*+json``, with no charset or ``charset=utf-8``."""
    media, *params = (content_type or "").split(";")
    media = media.strip().lower()
    kind, _, subtype = media.partition("/")
    if kind != "application" or not (subtype == "json" or subtype.endswith("+json")):
        raise UnsupportedMediaType(
            f"the body must be application/json, got {media[:60] or 'no Content-Type'!r}"
        )
    for param in params:
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() != "utf-8":
            raise UnsupportedMediaType("a JSON body must be UTF-8 (charset=utf-8)")


async def read_json(request: Request, max_bytes: int) -> Any:
    """The parsed JSON body; stops reading as soon as it passes ``max_bytes``."""
    raw = await _read(request, max_bytes)
    if not raw.strip():
        raise InvalidArgument("request body is empty; expected a JSON object")
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidArgument(f"request body is not valid JSON: {exc}") from None
    if _has_rounded_integer(parsed):
        _refuse_inexact_integers(raw)
    return parsed


async def _read(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(f"request body is larger than {max_bytes} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge(f"request body is larger than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _has_rounded_integer(value: Any) -> bool:
    """True if ``value`` holds a float that may be a rounded integer literal (a cheap scan;
    the exact check re-reads the body only then)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, float) and not SMALLEST_INT <= item <= LARGEST_INT:
            return True
    return False


def _refuse_inexact_integers(raw: bytes) -> None:
    """Raise InvalidArgument naming the first integer of ``raw`` outside the exact range."""
    try:
        # The standard library keeps every integer exact (up to its 4300-digit limit).
        path = _inexact_path(json.loads(raw), "")
    except (ValueError, RecursionError):
        raise InvalidArgument("request body holds an integer too large to read") from None
    if path is not None:
        raise InvalidArgument(
            f"{path} is an integer that cannot be stored exactly; integers must lie between "
            f"{SMALLEST_INT} and {LARGEST_INT} (send larger numbers as strings)"
        )


def _inexact_path(value: Any, path: str) -> str | None:
    """The JSON path (``data.a[2]``) of the first integer out of range in ``value``."""
    if isinstance(value, dict):
        items: Any = ((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    elif isinstance(value, int) and not isinstance(value, bool):
        return path if not SMALLEST_INT <= value <= LARGEST_INT else None
    else:
        return None
    return next((p for k, v in items if (p := _inexact_path(v, k)) is not None), None)
