"""The renderers: every representation parses back to the task it was made from."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasktrack.api.negotiation import SUPPORTED
from tasktrack.api.renderers import RENDERERS, HalRenderer, JsonRenderer
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
    return bytes(renderer.task_list(items, 42, links.get("next"), links.get("previous"), all_links))


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
    assert decoded == {"items": tasks, "total": 42, "nextCursor": "/n", "previousCursor": None}


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
