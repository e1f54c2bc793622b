"""The renderers: every representation parses back to the task it was made from."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any
from xml.etree.ElementTree import Element

import pytest
from defusedxml import ElementTree  # type: ignore[import-untyped, unused-ignore]
from hypothesis import given, settings
from hypothesis import strategies as st

from tasktrack.api.negotiation import SUPPORTED
from tasktrack.api.renderers import RENDERERS, CsvRenderer, HalRenderer, JsonRenderer
from tasktrack.api.renderers.csv import list_headers
from tasktrack.api.renderers.xml import XmlRenderer, is_element_name
from tasktrack.domain.task import CONTRACT_FIELDS

AWKWARD_DATA: dict[str, Any] = {
    "1abc": "starts with a digit",
    "a b": "has a space",
    "xmlfoo": "reserved prefix",
    "XmlBar": "reserved prefix, any case",
    "a:b": "would need a namespace",
    "": "empty key",
    "member": "a valid name that is also our fallback tag",
    "item": {"item": [1, 2]},
    "ключ": "Cyrillic name",
    "日本": "CJK name",
    "😀": "emoji is not a name for expat",
    "k\x01\t\n\r": "key with control and whitespace characters",
    "nested": [[1, [2, []]], {"deep": {"deeper": [None, True, False]}}, {}],
    "null": None,
    "numbers": [0, -1, 2**63 - 1, 1.5, -0.0, 1e16, 1e-7],
    "control": "nul\x00 unit-separator\x1f vertical-tab\x0b",
    "backslashes": "\\u0000 is literal here, \\ too",
    "surrogate": "lone \ud800 and \udfff",
    "nonchars": "\ufffe\uffff",
    "emoji": "😀 🇪🇺",
    "markup": "<a href='x'>&amp;</a> ]]> \"quoted\"",
    "whitespace": "  line\r\nbreaks\rand\ttabs  ",
    "csv": 'comma, "quote", newline\nand CRLF\r\n',
}


def make_task(**overrides: Any) -> dict[str, Any]:
    task: dict[str, Any] = {
        "name": "exportPackage",
        "data": {"projectId": "65a1b2c3d4e5f6a7b8c9d0e1", "resources": ["a", "b"]},
        "status": "error",
        "currentStep": 2,
        "totalStep": 5,
        "failReason": 'boom, "quoted"\nsecond line',
        "lastRunAt": "2023-11-07T05:31:56Z",
        "lastFinishedAt": None,
        "_id": "65a1b2c3d4e5f6a7b8c9d0e1",
        "createdAt": 1694518620,
        "lastChanged": 1694518621,
        "createdBy": "65a1b2c3d4e5f6a7b8c9d0e2",
        "lastChangedBy": "65a1b2c3d4e5f6a7b8c9d0e3",
    }
    task.update(overrides)
    return task


def render_list(renderer: Any, tasks: list[dict[str, Any]], **links: str | None) -> bytes:
    items = [(task, f"/new/v2.0/tasks/{task['_id']}") for task in tasks]
    all_links = {"self": "/new/v2.0/tasks?limit=2", "next": None, "previous": None, **links}
    next_cursor = "cursor-next" if links.get("next") else None
    previous_cursor = "cursor-previous" if links.get("previous") else None
    return bytes(renderer.task_list(items, 42, next_cursor, previous_cursor, all_links))


# --- the registry ---------------------------------------------------------------------------


def test_every_negotiable_type_has_a_renderer_of_that_type() -> None:
    assert set(RENDERERS) == set(SUPPORTED)
    for media_type, renderer in RENDERERS.items():
        assert renderer.media_type == media_type


def test_content_types() -> None:
    assert {key: renderer.content_type for key, renderer in RENDERERS.items()} == {
        "application/hal+json": "application/hal+json",
        "application/json": "application/json",
        "application/xml": "application/xml; charset=utf-8",
        "text/xml": "text/xml; charset=utf-8",
        "text/csv": "text/csv; charset=utf-8",
    }


# --- plain JSON and HAL -----------------------------------------------------------------------


def test_json_task_is_the_task_in_contract_order() -> None:
    task = make_task(data=AWKWARD_DATA | {"surrogate": "none", "nonchars": "\ufffd"})
    decoded = json.loads(JsonRenderer().task(task, "/ignored"))
    assert decoded == task
    assert list(decoded) == list(CONTRACT_FIELDS)


def test_json_list_shape() -> None:
    tasks = [make_task(), make_task(_id="65a1b2c3d4e5f6a7b8c9d0ff", lastRunAt=None)]
    decoded = json.loads(render_list(JsonRenderer(), tasks, next="/n"))
    assert list(decoded) == ["items", "total", "nextCursor", "previousCursor"]
    assert decoded == {
        "items": tasks,
        "total": 42,
        "nextCursor": "cursor-next",
        "previousCursor": None,
    }


def test_hal_task_appends_self_link_after_the_fields() -> None:
    task = make_task()
    decoded = json.loads(HalRenderer().task(task, "/new/v2.0/tasks/65a1b2c3d4e5f6a7b8c9d0e1"))
    assert list(decoded) == [*CONTRACT_FIELDS, "_links"]
    assert decoded == {
        **task,
        "_links": {"self": {"href": "/new/v2.0/tasks/65a1b2c3d4e5f6a7b8c9d0e1"}},
    }
    assert "_links" not in task  # the input is not modified


@settings(database=None, deadline=None)
@given(
    st.dictionaries(st.text(), st.none() | st.integers(-(2**63), 2**63 - 1) | st.text()),
    st.text(),
)
def test_hal_splice_is_correct_for_any_object_and_href(task: dict[str, Any], href: str) -> None:
    decoded = json.loads(HalRenderer().task(task, href))
    assert decoded == {**task, "_links": {"self": {"href": href}}}


@pytest.mark.parametrize(
    ("links", "expected"),
    [
        ({}, {"self": {"href": "/new/v2.0/tasks?limit=2"}}),
        (
            {"next": "/n?next=abc", "previous": "/p?previous=xyz"},
            {
                "self": {"href": "/new/v2.0/tasks?limit=2"},
                "next": {"href": "/n?next=abc"},
                "previous": {"href": "/p?previous=xyz"},
            },
        ),
        ({"next": "/n"}, {"self": {"href": "/new/v2.0/tasks?limit=2"}, "next": {"href": "/n"}}),
        ({"self": None, "previous": "/p"}, {"previous": {"href": "/p"}}),
    ],
)
def test_hal_list_links_present_only_when_given(
    links: dict[str, str | None], expected: dict[str, Any]
) -> None:
    tasks = [make_task(), make_task(_id="65a1b2c3d4e5f6a7b8c9d0ff")]
    decoded = json.loads(render_list(HalRenderer(), tasks, **links))
    assert list(decoded) == ["items", "total", "nextCursor", "previousCursor", "_links"]
    assert decoded["_links"] == expected
    assert list(decoded["_links"]) == list(expected)
    for item, task in zip(decoded["items"], tasks, strict=True):
        assert item == {**task, "_links": {"self": {"href": f"/new/v2.0/tasks/{task['_id']}"}}}


def test_hal_empty_list() -> None:
    decoded = json.loads(render_list(HalRenderer(), []))
    assert decoded["items"] == []
    assert decoded["total"] == 42


# --- XML ----------------------------------------------------------------------------------------

_ESCAPE = re.compile(r"\\(\\|u([0-9a-f]{4}))")


def unescape(text: str, marked: bool) -> str:
    """The module docstring's reverse rule: only marked values hold ``\\uXXXX`` escapes."""
    if not marked:
        return text
    return _ESCAPE.sub(lambda m: "\\" if m.group(1) == "\\" else chr(int(m.group(2), 16)), text)


def member_key(element: Element) -> str:
    if element.tag == "member" and "name" in element.attrib:
        return unescape(element.attrib["name"], element.get("nameEscaped") == "true")
    return element.tag


def assert_xml_equals(element: Element, value: Any) -> None:
    """``element`` represents ``value``, read with the shape of ``value`` as the guide."""
    if value is None:
        assert element.get("nil") == "true"
        assert len(element) == 0 and not element.text
        return
    assert element.get("nil") is None
    if isinstance(value, dict):
        assert [member_key(child) for child in element] == list(value)
        for child, member in zip(element, value.values(), strict=True):
            assert_xml_equals(child, member)
    elif isinstance(value, list):
        assert [child.tag for child in element] == ["item"] * len(value)
        for child, item in zip(element, value, strict=True):
            assert_xml_equals(child, item)
    else:
        assert len(element) == 0
        text = element.text or ""
        if isinstance(value, str):
            assert unescape(text, element.get("escaped") == "true") == value
        elif isinstance(value, bool):
            assert text == ("true" if value else "false")
        else:
            number = json.loads(text)  # numbers are written as JSON writes them
            assert number == value
            assert type(number) is type(value)


def child(element: Element, tag: str) -> Element:
    found = element.find(tag)
    assert found is not None, f"no <{tag}> in <{element.tag}>"
    return found


def parse_xml(body: bytes) -> Element:
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root: Element = ElementTree.fromstring(body)
    return root


@pytest.mark.parametrize("media_type", ["application/xml", "text/xml"])
def test_xml_task_has_the_13_fields_in_order(media_type: str) -> None:
    task = make_task()
    root = parse_xml(RENDERERS[media_type].task(task, "/ignored"))
    assert root.tag == "task"
    assert [child.tag for child in root] == list(CONTRACT_FIELDS)
    assert_xml_equals(root, task)
    assert child(root, "lastFinishedAt").attrib == {"nil": "true"}
    assert root.findtext("createdAt") == "1694518620"


def test_xml_awkward_data_round_trips() -> None:
    task = make_task(data=AWKWARD_DATA, failReason="bad\x00byte\x1f and \\ and 😀")
    root = parse_xml(XmlRenderer("application/xml").task(task, "/ignored"))
    assert_xml_equals(root, task)
    data = child(root, "data")
    tags = [child.tag for child in data]
    for key in ["1abc", "a b", "xmlfoo", "XmlBar", "a:b", "", "😀"]:
        assert key not in tags
    for key in ["member", "item", "ключ", "日本", "nested", "null"]:
        assert key in tags
    assert child(root, "failReason").get("escaped") == "true"
    assert child(data, "backslashes").get("escaped") is None


def test_xml_escaping_is_visible_in_the_document() -> None:
    body = XmlRenderer("text/xml").task(make_task(data={"a": "x\x00\\y", "b": "z\r"}), "/h")
    assert b'<a escaped="true">x\\u0000\\\\y</a>' in body
    assert b"<b>z&#13;</b>" in body


def test_xml_list_shape() -> None:
    tasks = [make_task(), make_task(_id="65a1b2c3d4e5f6a7b8c9d0ff", data=AWKWARD_DATA)]
    root = parse_xml(render_list(RENDERERS["application/xml"], tasks, next="/n"))
    assert root.tag == "tasks"
    assert [child.tag for child in root] == ["items", "total", "nextCursor", "previousCursor"]
    items = child(root, "items")
    assert [child.tag for child in items] == ["task", "task"]
    for element, task in zip(items, tasks, strict=True):
        assert_xml_equals(element, task)
    assert root.findtext("total") == "42"
    assert root.findtext("nextCursor") == "cursor-next"
    assert child(root, "previousCursor").attrib == {"nil": "true"}


def test_xml_empty_list() -> None:
    root = parse_xml(render_list(RENDERERS["text/xml"], []))
    assert len(child(root, "items")) == 0


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("_id", True),
        ("a-b.c_d1", True),
        ("ключ", True),
        ("日本語", True),
        ("1abc", False),
        ("a b", False),
        ("a:b", False),
        ("xml", False),
        ("XMLfoo", False),
        ("", False),
        ("😀", False),  # a 5th-edition name, but not a 4th-edition one: expat rejects it
        ("Ƞ", False),  # U+0220, likewise
        ('a b="1"', False),
        ("a>", False),
    ],
)
def test_element_names(key: str, expected: bool) -> None:
    assert is_element_name(key) is expected


def test_xml_rejects_values_that_are_not_json() -> None:
    with pytest.raises(TypeError):
        XmlRenderer("application/xml").task(make_task(data={"when": object()}), "/h")


# --- CSV ----------------------------------------------------------------------------------------


def parse_csv(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode(), newline="")))


def assert_row_equals(row: list[str], task: dict[str, Any]) -> None:
    assert len(row) == len(CONTRACT_FIELDS)
    for field, cell in zip(CONTRACT_FIELDS, row, strict=True):
        value = task[field]
        if field == "data":
            assert json.loads(cell) == value
        elif value is None:
            assert cell == ""
        else:
            assert cell == str(value)


def test_csv_task_is_header_and_one_row() -> None:
    task = make_task(
        data={"csv": AWKWARD_DATA["csv"], "n": [1, None]}, failReason='a,b "c"\r\nd\n=1+2'
    )
    body = CsvRenderer().task(task, "/ignored")
    rows = parse_csv(body)
    assert rows[0] == list(CONTRACT_FIELDS)
    assert len(rows) == 2
    assert_row_equals(rows[1], task)
    assert body.startswith(b"name,data,status,currentStep,")
    assert body.endswith(b"\r\n")
    assert body.count(b"\r\n") == 3  # header, the CRLF inside failReason, end of row


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_defuses_formula_like_cells_with_a_leading_quote(start: str) -> None:
    task = make_task(name=start + "HYPERLINK(1)", failReason=start + "1", createdBy="@x")
    row = parse_csv(CsvRenderer().task(task, "/h"))[1]
    assert (row[0], row[5], row[11]) == ("'" + start + "HYPERLINK(1)", "'" + start + "1", "'@x")


def test_csv_leaves_other_cells_alone() -> None:
    task = make_task(name="a=b", failReason="'quoted", data={"x": "=1"})
    row = parse_csv(CsvRenderer().task(task, "/h"))[1]
    assert (row[0], row[5], row[1]) == ("a=b", "'quoted", '{"x":"=1"}')


def test_csv_list_is_header_and_rows() -> None:
    tasks = [make_task(data=AWKWARD_DATA | {"surrogate": ""}), make_task(lastRunAt=None)]
    rows = parse_csv(render_list(CsvRenderer(), tasks, next="/n"))
    assert rows[0] == list(CONTRACT_FIELDS)
    assert len(rows) == 3
    for row, task in zip(rows[1:], tasks, strict=True):
        assert_row_equals(row, task)


def test_csv_empty_list_is_just_the_header() -> None:
    assert parse_csv(render_list(CsvRenderer(), [])) == [list(CONTRACT_FIELDS)]


def test_csv_list_headers() -> None:
    assert list_headers(3, None, None) == {"X-Total-Count": "3"}
    assert list_headers(0, "n", "p") == {
        "X-Total-Count": "0",
        "X-Next-Cursor": "n",
        "X-Previous-Cursor": "p",
    }


# --- properties ---------------------------------------------------------------------------------

_XML_AWKWARD = st.sampled_from(
    ["\x00", "\x1f", "\ud800", "\udfff", "\ufffe", "\uffff", "\\", "\r", "\t", "<", "&", "]", ">"]
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
)


def json_objects(text: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    """JSON objects nested at most 5 deep, with strings drawn from ``text``."""
    keys = text | st.sampled_from(["a", "_id", "item", "member", "ключ", "xmlns", "a b"])
    level: st.SearchStrategy[Any] = _SCALARS | text
    for _ in range(4):
        level = (
            _SCALARS | text | st.lists(level, max_size=3) | st.dictionaries(keys, level, max_size=3)
        )
    return st.dictionaries(keys, level, max_size=4)


@settings(database=None, deadline=None, max_examples=200)
@given(json_objects(st.text(st.characters(exclude_categories=()) | _XML_AWKWARD)))
def test_xml_always_parses_and_reads_back(data: dict[str, Any]) -> None:
    task = make_task(data=data)
    root = parse_xml(XmlRenderer("application/xml").task(task, "/h"))
    assert_xml_equals(root, task)


@settings(database=None, deadline=None, max_examples=200)
@given(json_objects(st.text()))
def test_csv_data_cell_decodes_back(data: dict[str, Any]) -> None:
    rows = parse_csv(CsvRenderer().task(make_task(data=data), "/h"))
    assert len(rows) == 2
    assert json.loads(rows[1][1]) == data
