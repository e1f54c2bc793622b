"""Choose the media type of a reply from the request's ``Accept`` header (RFC 9110 §12.5.1).

The rules, so that the API answers the same way to every client:

* A missing, empty or all-blank header means "anything", which is HAL, the contract's default.
* Each supported type takes the quality of the *most specific* range that matches it
  (``type/subtype`` beats ``type/*`` beats ``*/*``), so ``application/json;q=0, */*`` excludes
  plain JSON but still accepts HAL. When two ranges of the same specificity match, the higher
  q-value counts (the header contradicts itself, and serving is more useful than refusing).
* ``q=0`` means "not acceptable". The type with the highest q-value wins; on equal q-values the
  type matched by the more specific range wins (``application/json, */*`` means JSON), and after
  that the server's order in :data:`SUPPORTED`. That order makes ``*/*`` and ``application/*``
  choose HAL, and ``text/*`` choose ``text/xml`` (the text type that carries the whole nested
  ``data``; CSV flattens it to a JSON string).
* Media-range parameters other than ``q`` (``charset=...``, ``version=...``) are ignored for
  matching: we have one representation per type. A bare ``*`` (sent by some old HTTP stacks) is
  read as ``*/*``.
* Bad input never raises: an entry whose range is not ``token/token`` is skipped, and a ``q``
  that is not a number within 0..1 is ignored (the entry counts at q=1, as if ``q`` were absent).
* ``None`` means nothing we serve is acceptable; the API answers 406.

This runs on every GET, and clients repeat the same few header strings, so results are memoised
per header string (:func:`functools.lru_cache`, 256 entries).
"""

from __future__ import annotations

import functools
import re

#: Media types we serve, the server's preference first (it breaks ties).
SUPPORTED: tuple[str, ...] = (
    "application/hal+json",
    "application/json",
    "application/xml",
    "text/xml",
    "text/csv",
)

#: What a request without a usable preference gets.
DEFAULT_MEDIA_TYPE = SUPPORTED[0]

# RFC 9110 token characters; media types are case-insensitive, so we match lowercase.
_MEDIA_RANGE = re.compile(r"([!#$%&'*+.^_`|~0-9a-z-]+)/([!#$%&'*+.^_`|~0-9a-z-]+)")

#: (type, subtype, q) of one parsed media range.
_Range = tuple[str, str, float]


@functools.lru_cache(maxsize=256)
def choose_media_type(accept: str | None) -> str | None:
    """The supported media type to serve for an ``Accept`` header, or ``None`` for a 406.

    Args:
        accept: The raw header value, or ``None`` when the request has none.

    Returns:
        One of :data:`SUPPORTED`, or ``None`` when the client accepts none of them.
    """
    if accept is None:  # a blank header lists no acceptable type: a 406 (RFC 9110 12.5.1)
        return DEFAULT_MEDIA_TYPE
    parsed = (_parse_range(entry) for entry in _split(accept, ","))
    ranges = [media_range for media_range in parsed if media_range is not None]
    best_key: tuple[float, int, int] | None = None
    chosen: str | None = None
    for index, media_type in enumerate(SUPPORTED):
        quality, specificity = _quality(media_type, ranges)
        key = (quality, specificity, -index)
        if quality > 0 and (best_key is None or key > best_key):
            best_key, chosen = key, media_type
    return chosen


def _quality(media_type: str, ranges: list[_Range]) -> tuple[float, int]:
    """The q-value the most specific matching ranges give ``media_type``, and that specificity.

    Specificity is 2 for ``type/subtype``, 1 for ``type/*``, 0 for ``*/*``; (0.0, -1) when no
    range matches at all.
    """
    type_, _, subtype = media_type.partition("/")
    quality, specificity = 0.0, -1
    for range_type, range_subtype, range_q in ranges:
        if range_type == "*":
            level = 0
        elif range_type != type_:
            continue
        elif range_subtype == "*":
            level = 1
        elif range_subtype == subtype:
            level = 2
        else:
            continue
        if level > specificity:
            quality, specificity = range_q, level
        elif level == specificity:
            quality = max(quality, range_q)
    return quality, specificity


def _parse_range(entry: str) -> _Range | None:
    """``type/subtype;param=value;q=0.5`` as (type, subtype, q), or ``None`` if malformed."""
    media_range, *params = _split(entry, ";")
    media_range = media_range.strip().lower()
    if media_range == "*":
        media_range = "*/*"
    match = _MEDIA_RANGE.fullmatch(media_range)
    if match is None:
        return None
    type_, subtype = match.groups()
    if type_ == "*" and subtype != "*":  # "*/json" is not a media range
        return None
    quality = 1.0
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            quality = _parse_q(value)
            break  # parameters after q are accept-extensions, which we ignore
    return type_, subtype, quality


def _parse_q(value: str) -> float:
    """A q-value, leniently: any number within 0..1; anything else counts as absent (1.0)."""
    try:
        quality = float(value.strip())
    except ValueError:
        return 1.0
    return quality if 0.0 <= quality <= 1.0 else 1.0  # NaN fails both comparisons


def _split(text: str, separator: str) -> list[str]:
    """Split on ``separator`` outside double-quoted strings (parameter values may quote it)."""
    if '"' not in text:
        return text.split(separator)
    parts: list[str] = []
    start, quoted, escaped = 0, False, False
    for position, char in enumerate(text):
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append(text[start:position])
            start = position + 1
    parts.append(text[start:])
    return parts
