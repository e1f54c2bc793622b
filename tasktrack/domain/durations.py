"""Durations as people write them: ``90`` (seconds), ``30m``, ``12h``, ``7d``, ``1w``.

Used by the retention settings and ``tasktrack tasks prune --older-than``. Deliberately
small: one number (integer or decimal) and at most one unit, no mixing (``1h30m``), so a
typo is an error rather than a surprise.
"""

from __future__ import annotations

import math
import re

#: Seconds per unit suffix; no suffix means seconds.
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw]?)")


def parse_duration(text: str) -> float:
    """Seconds in ``text`` (``"7d"`` -> 604800.0); ValueError for anything else.

    Accepts a non-negative number with an optional unit (s, m, h, d, w), case-insensitive.
    """
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(f"not a duration: {text!r} (use seconds or e.g. 30m, 12h, 7d, 2w)")
    seconds = float(match.group(1)) * UNITS[match.group(2)]
    if not math.isfinite(seconds):
        raise ValueError(f"duration too large: {text!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest exact spelling of ``seconds`` in the largest whole unit (``604800`` ->
    ``"7d"``); ``0`` is ``"0"``."""
    if seconds == 0:
        return "0"
    for unit in ("w", "d", "h", "m"):
        count = seconds / UNITS[unit]
        if count == int(count):
            return f"{int(count)}{unit}"
    return f"{seconds:g}s"
