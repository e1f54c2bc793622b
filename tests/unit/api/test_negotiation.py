"""choose_media_type: Accept parsing, q-values, specificity, ties and 406."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasktrack.api.negotiation import DEFAULT_MEDIA_TYPE, SUPPORTED, choose_media_type

HAL = "application/hal+json"
JSON = "application/json"
XML = "application/xml"
TEXT_XML = "text/xml"
CSV = "text/csv"


@pytest.mark.parametrize("accept", [None, "*/*", "application/*", HAL, "*"])
def test_no_preference_means_hal(accept: str | None) -> None:
    assert choose_media_type(accept) == HAL == DEFAULT_MEDIA_TYPE


@pytest.mark.parametrize("accept", ["", "   ", " , "])
def test_a_blank_accept_lists_nothing_acceptable(accept: str) -> None:
    """Present but empty is not "missing" (the contract's HAL case): nothing is acceptable,
    a 406 (RFC 9110 12.5.1 allows it; schemathesis' negative data expects it)."""
    assert choose_media_type(accept) is None


@pytest.mark.parametrize("media_type", SUPPORTED)
def test_each_supported_type_is_served_when_asked_for(media_type: str) -> None:
    assert choose_media_type(media_type) == media_type


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("text/*", TEXT_XML),  # the text type that keeps data's structure
        ("Application/JSON", JSON),  # media types are case-insensitive
        ("TEXT/CSV", CSV),
        ("application/json; charset=utf-8", JSON),  # non-q parameters are ignored
        ("application/json ; q = 0.5", JSON),
        (" , ,application/xml,", XML),  # empty entries are skipped
    ],
)
def test_ranges_and_spelling(accept: str, expected: str) -> None:
    assert choose_media_type(accept) == expected


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/json;q=0.5, text/csv", CSV),
        ("text/csv;q=0.4, application/xml;q=0.5, application/json;q=0.3", XML),
        ("application/json;q=0.001, text/csv;q=0", JSON),
        ("text/csv;q=1.000, application/json;q=0.999", CSV),
        ("*/*;q=0.1, text/csv;q=0.5", CSV),
        # application/* gives HAL 0.2; json's own lower q does not lift the others.
        ("application/*;q=0.2, application/json;q=0.1", HAL),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", XML),  # a browser
        ("text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2", HAL),  # old Java clients
    ],
)
def test_highest_q_value_wins(accept: str, expected: str) -> None:
    assert choose_media_type(accept) == expected


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/json;q=0, */*", HAL),
        ("application/hal+json;q=0, */*", JSON),
        ("application/hal+json;q=0, application/*", JSON),
        ("application/*;q=0, application/json", JSON),
        ("application/*;q=0, */*", TEXT_XML),
        ("text/*;q=0, */*", HAL),
        ("text/*;q=0, text/csv", CSV),
        ("text/xml;q=0, text/*", CSV),
        ("application/json;Q=0, */*", HAL),  # parameter names are case-insensitive
        ("application/json;q=0.000, */*", HAL),
    ],
)
def test_more_specific_range_overrides_less_specific_one(accept: str, expected: str) -> None:
    assert choose_media_type(accept) == expected


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/json, */*", JSON),  # equal q: the more specific match wins
        ("text/*, application/xml", XML),
        ("application/json, application/hal+json", HAL),  # then the server's order
        ("text/csv, text/xml", TEXT_XML),
        ("text/csv;q=0.5, application/json;q=0.5", JSON),
        ("application/xml, text/xml", XML),
        ("application/json;q=0, application/json", JSON),  # a contradiction: serve
    ],
)
def test_ties(accept: str, expected: str) -> None:
    assert choose_media_type(accept) == expected


@pytest.mark.parametrize(
    "accept",
    [
        "image/png",
        "text/html",
        "application/pdf, image/*",
        "text/plain;q=1, application/octet-stream",
        "*/*;q=0",
        "application/json;q=0",
        "application/*;q=0, text/*;q=0",
        "json",  # not a media range
        "*/json",
        "garbage",
        ",",
    ],
)
def test_nothing_acceptable_is_none(accept: str) -> None:
    assert choose_media_type(accept) is None


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/json;q=abc", JSON),  # a malformed q counts as absent
        ("text/csv;q=0.5, application/json;q=2", JSON),
        ("text/csv;q=0.5, application/json;q=-1", JSON),
        ("text/csv;q=0.5, application/json;q=nan", JSON),
        ("text/csv;q=0.5, application/json;q=", JSON),
        ("text/csv;q=0.5, application/json;q", JSON),
        ("application/json;;", JSON),
        ("text/csv;q=0.5, application/json/extra", CSV),  # a malformed range is skipped
        ('text/csv;foo="a,b;q=0", application/json;q=0.5', CSV),  # quoted separators
        ('text/csv;foo="a\\"b,c", application/json;q=0.5', CSV),
        ('text/csv;foo="unterminated, application/json', CSV),
    ],
)
def test_malformed_input_is_tolerated(accept: str, expected: str) -> None:
    assert choose_media_type(accept) == expected


@settings(database=None)
@given(
    st.text() | st.lists(st.sampled_from([*SUPPORTED, "*/*", ";q=", "0.5", ",", '"'])).map("".join)
)
def test_never_raises(accept: str) -> None:
    assert choose_media_type(accept) in {*SUPPORTED, None}


def test_results_are_memoised_per_header() -> None:
    header = "text/csv;q=0.7, application/xml;q=0.6"
    assert choose_media_type.cache_info().maxsize == 256
    choose_media_type(header)
    hits = choose_media_type.cache_info().hits
    assert choose_media_type(header) == CSV
    assert choose_media_type.cache_info().hits == hits + 1
