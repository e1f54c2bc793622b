"""A handler's return value, encoded in the child as the compact JSON the store keeps.

Encoded where the handler ran, so that only text crosses the pipe, and a value that cannot be
kept (not JSON, or over :data:`~tasktrack.domain.history.RESULT_MAX_BYTES`) fails the attempt
with a reason the user can act on instead of being dropped or cut.
"""

from __future__ import annotations

from typing import Any

import orjson

from tasktrack.domain.history import RESULT_MAX_BYTES


class ResultRefused(Exception):
    """The handler's return value cannot be stored; ``reason`` becomes the attempt's error."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def encode_result(value: Any) -> str | None:
    """``value`` as compact JSON text, or None for None (no result is stored).

    Raises ResultRefused when ``value`` is not plain JSON as orjson writes it (string keys
    only, integers within 64 bits, no sets, bytes or arbitrary objects; dataclasses, datetimes
    and UUIDs are written as orjson does) or its JSON is over the size cap.
    """
    if value is None:
        return None
    try:
        encoded = orjson.dumps(value)
    except TypeError as exc:  # orjson.JSONEncodeError is a TypeError
        raise ResultRefused(f"result is not JSON-serialisable: {exc}") from None
    if len(encoded) > RESULT_MAX_BYTES:
        raise ResultRefused(
            f"result is {len(encoded)} bytes, over the {_size(RESULT_MAX_BYTES)} limit"
        )
    return encoded.decode()


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n % (1024 * 1024) == 0 else f"{n} bytes"
