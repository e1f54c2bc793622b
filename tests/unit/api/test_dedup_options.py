"""Reading the create's deduplication options (tasktrack.api.dedup): the header's forms, the
body option, and a fingerprint that ignores how the JSON was written."""

from __future__ import annotations

import pytest

from tasktrack.api.dedup import read_dedup, reply_headers, reply_status
from tasktrack.domain.dedup import Outcome
from tasktrack.errors import InvalidArgument

BODY = {"name": "job", "data": {"a": 1, "b": [1, 2]}}


@pytest.mark.parametrize(
    ("header", "key"),
    [('"abc"', "abc"), ("8e03978e-40d5-43e8", "8e03978e-40d5-43e8"), ('"a\\"b"', 'a"b')],
)
def test_the_header_is_a_structured_field_string_or_a_bare_value(header: str, key: str) -> None:
    assert read_dedup({"idempotency-key": header}, BODY)[1].idempotency_key == key


def test_the_fingerprint_ignores_key_order_and_covers_the_unique_key() -> None:
    reordered = {"data": {"b": [1, 2], "a": 1}, "name": "job"}
    first = read_dedup({"idempotency-key": "k"}, BODY)[1]
    assert first.fingerprint == read_dedup({"idempotency-key": "k"}, reordered)[1].fingerprint
    keyed = read_dedup({"idempotency-key": "k"}, {**BODY, "uniqueKey": "u"})[1]
    assert keyed.fingerprint != first.fingerprint
    assert read_dedup({"idempotency-key": "k"}, {**BODY, "data": {}})[1].fingerprint != (
        first.fingerprint
    )


def test_the_unique_key_leaves_the_body() -> None:
    rest, dedup = read_dedup({}, {**BODY, "uniqueKey": "u"})
    assert rest == BODY and dedup.unique_key == "u" and dedup.idempotency_key is None
    assert read_dedup({}, BODY) == (BODY, read_dedup({}, BODY)[1])
    assert not read_dedup({}, BODY)[1]


@pytest.mark.parametrize("header", ['"', '"a', "", " ", "x" * 256, '"k";x=1', '""', '"\u00e9"'])
def test_bad_headers_name_the_header(header: str) -> None:
    with pytest.raises(InvalidArgument, match="Idempotency-Key"):
        read_dedup({"idempotency-key": header}, BODY)


def test_status_and_headers_per_outcome() -> None:
    assert [reply_status(o) for o in Outcome] == [201, 201, 200]
    assert reply_headers(Outcome.REPLAYED) == {"Idempotent-Replayed": "true"}
    assert reply_headers(Outcome.CREATED) == reply_headers(Outcome.EXISTING) == {}
