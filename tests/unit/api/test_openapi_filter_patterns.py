"""The OpenAPI pattern of a string filter says what the server's parser takes: a value the
pattern allows is never a 400 (schemathesis found `lastChangedBy=a,` allowed yet refused)."""

from __future__ import annotations

import re

import pytest

from tasktrack.api.openapi.parameters import _filter_parameter
from tasktrack.domain.listing import parse_field_filter
from tasktrack.errors import InvalidArgument

VALUES = [
    "u1", " u1 ", "u1,u2", "u1, u2", "a b", "é,ü", "x\x93", "\tu1\n",  # taken
    "", " ", "\t\n", "u1,", "u1,,u2", ",u1", "u1, ,u2", "u1,\t", "[1,2]", " [u1",  # refused
]  # fmt: skip


def _taken(value: str) -> bool:
    try:
        parse_field_filter("lastChangedBy", value)
    except InvalidArgument:
        return False
    return True


@pytest.mark.parametrize("value", VALUES)
def test_the_string_filter_pattern_matches_the_parser(value: str) -> None:
    pattern = _filter_parameter("lastChangedBy", "str")["schema"]["pattern"]
    assert (re.search(pattern, value) is not None) == _taken(value), repr(value)
