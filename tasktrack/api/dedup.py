"""The create request's deduplication options (issue 14): the ``Idempotency-Key`` header
(IETF httpapi draft "The Idempotency-Key HTTP Header Field") and the ``uniqueKey`` body
option. Read here and handed to the service as a :class:`~tasktrack.domain.dedup.Dedup`.

* The header's value is a Structured Field string (``"abc"``, RFC 9651, parsed by http-sf);
  an unquoted value is taken as it is, since many clients send bare UUIDs. 1 to 255
  printable ASCII characters.
* The fingerprint is a SHA-256 of the body as parsed JSON with sorted keys, so the same
  request sent with other whitespace or key order is the same request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import http_sf
import orjson

from tasktrack.domain.dedup import Dedup, Outcome, check_key
from tasktrack.errors import InvalidArgument

HEADER = "Idempotency-Key"
#: Marks a reply that repeats an earlier request's answer (Stripe's name for it).
REPLAYED_HEADER = "Idempotent-Replayed"
#: Body option: the unique key of the work (see tasktrack.domain.dedup).
UNIQUE_KEY = "uniqueKey"


def read_dedup(headers: Mapping[str, str], body: Any) -> tuple[Any, Dedup]:
    """``body`` without the ``uniqueKey`` option, and how to deduplicate the create."""
    raw = headers.get(HEADER.lower())
    key = None if raw is None else check_key(_unquote(raw.strip()), HEADER)
    if not isinstance(body, dict) or (key is None and UNIQUE_KEY not in body):
        return body, Dedup()
    rest = {k: v for k, v in body.items() if k != UNIQUE_KEY}
    unique = body.get(UNIQUE_KEY)
    if unique is not None and not isinstance(unique, str):
        raise InvalidArgument(f"{UNIQUE_KEY} must be a string")
    unique = None if unique is None else check_key(unique, UNIQUE_KEY)
    return rest, Dedup(key, _fingerprint(body) if key is not None else "", unique)


def reply_headers(outcome: Outcome) -> dict[str, str]:
    """Headers that tell a replayed or an existing task from a new one."""
    return {REPLAYED_HEADER: "true"} if outcome is Outcome.REPLAYED else {}


def reply_status(outcome: Outcome) -> int:
    """201 when the request created the task (also on its replays, as the first reply
    said); 200 when an unfinished task with the unique key was returned instead."""
    return 200 if outcome is Outcome.EXISTING else 201


def _unquote(value: str) -> str:
    """The key a header value names: a Structured Field string (parsed by http-sf), or the
    value as it is when it is not quoted (a bare UUID is no valid sf-token: it starts with a
    digit, yet it is what most clients send)."""
    if not value.startswith('"'):
        return value
    if not value.isascii():
        raise InvalidArgument(f"{HEADER} must be printable ASCII characters")
    try:
        parsed = http_sf.parse(value.encode("ascii"), tltype="item")
    except http_sf.StructuredFieldError as exc:
        raise InvalidArgument(f"{HEADER} is not a valid Structured Field string: {exc}") from None
    # An item parses as (bare item, parameters): one string, no parameters, is a key.
    if not isinstance(parsed, tuple) or not isinstance(parsed[0], str) or parsed[1]:
        raise InvalidArgument(f"{HEADER} must be one string without parameters")
    return parsed[0]


def _fingerprint(body: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
