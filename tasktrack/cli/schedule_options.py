"""``tasks submit --at/--delay/--priority``: the create's scheduling options (issue 14).

The server checks them (a bad value is its 400, one ``error:`` line here); the CLI only turns
what people type into what the API takes: ``--at`` as ISO 8601 text or Unix seconds,
``--delay`` as seconds or a duration (``90``, ``30m``, ``2h``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from tasktrack.domain.durations import parse_duration

F = TypeVar("F", bound=Callable[..., Any])


def schedule_options(fn: F) -> F:
    """Add ``--at``, ``--delay`` and ``--priority`` to a command."""
    fn = click.option(
        "--priority", type=int, help="Override the task type's priority (higher runs first)."
    )(fn)
    fn = click.option(
        "--delay", metavar="DURATION", help="Run it no earlier than this from now (90, 30m, 2h)."
    )(fn)
    return click.option(
        "--at",
        "run_at",
        metavar="TIME",
        help="Run it no earlier than this: ISO 8601 with an offset, or Unix seconds.",
    )(fn)


def schedule_of(run_at: str | None, delay: str | None, priority: int | None) -> dict[str, Any]:
    """Keyword arguments for the client's ``create``; ValueError (exit 2) for a bad value."""
    if run_at is not None and delay is not None:
        raise ValueError("give --at or --delay, not both")
    out: dict[str, Any] = {"priority": priority}
    if delay is not None:
        out["delay_seconds"] = parse_duration(delay)
    if run_at is not None:
        out["run_at"] = _number_or_text(run_at)
    return out


def _number_or_text(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text
