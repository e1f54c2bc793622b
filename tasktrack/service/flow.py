"""A task type's flow-control options, as ``registry.task`` takes them (issue 14, point 4).

``registry.task("import", concurrency=2, rate_limit="10/minute", concurrency_key="customer",
key_concurrency=1)``: at most two imports run at once across the cluster, at most ten start
in any minute, and at most one per customer runs at a time. The rules live in
:mod:`tasktrack.domain.flow`; this module parses the options and computes a task's key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tasktrack.domain.flow import Limits, Rate
from tasktrack.errors import InvalidArgument

#: A concurrency key: the name of a top-level field of ``data``, or a function of ``data``
#: returning a str or int (None: the task has no key and only the type's caps apply).
KeyFunction = str | Callable[[dict[str, Any]], Any]
#: Longest concurrency key (characters).
MAX_KEY_CHARS = 200
#: What a key function may fail with on data of the wrong shape (the caller's mistake: 400).
_DATA_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError)


def parse_rate(text: str) -> Rate:
    """``"10/minute"``, ``"10 per minute"``, ``"100/2 hours"`` → :class:`Rate` (the grammar
    of the ``limits`` library: second, minute, hour, day, month, year)."""
    # Imported here: the package costs ~80 ms to import (its storage back-ends) and only task
    # types with a rate limit need it; every tasktrack process (CLI, server, worker, each
    # worker child) imports this module.
    import limits as ratelimits

    try:
        item = ratelimits.parse(text)
    except ValueError:
        raise ValueError(
            f"rate_limit {text!r} is not a rate such as '10/minute' or '100 per 2 hours'"
        ) from None
    return Rate(int(item.amount), float(item.get_expiry()))


def limits_of(
    concurrency: int | None,
    rate_limit: str | None,
    concurrency_key: KeyFunction | None,
    key_concurrency: int | None,
) -> Limits:
    """The :class:`Limits` of ``registry.task``'s options (ValueError for a bad one)."""
    if key_concurrency is not None and concurrency_key is None:
        raise ValueError("key_concurrency needs a concurrency_key")
    per_key = key_concurrency
    if concurrency_key is not None and per_key is None:
        per_key = 1  # a key without a cap would do nothing: one per key is the usual wish
    rate = parse_rate(rate_limit) if rate_limit is not None else None
    return Limits(concurrency, per_key, rate)


def concurrency_key_of(task_name: str, key: KeyFunction | None, data: dict[str, Any]) -> str | None:
    """The concurrency key of a new ``task_name`` task with ``data``; InvalidArgument (a 400)
    when the data has no usable key."""
    if key is None:
        return None
    try:
        value = data[key] if isinstance(key, str) else key(data)
    except _DATA_ERRORS as exc:
        raise InvalidArgument(
            f"data has no concurrency key for {task_name!r}: {_why(key, exc)}"
        ) from None
    return _as_key(task_name, value)


def _why(key: KeyFunction, exc: Exception) -> str:
    if isinstance(key, str) and isinstance(exc, KeyError):
        return f"data.{key} is required"
    return f"{type(exc).__name__}: {exc}"


def _as_key(task_name: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidArgument(
            f"the concurrency key of {task_name!r} must be a string or an integer, "
            f"got {type(value).__name__}"
        )
    text = str(value)
    if len(text) > MAX_KEY_CHARS:
        raise InvalidArgument(
            f"the concurrency key of {task_name!r} is longer than {MAX_KEY_CHARS} characters"
        )
    return text
