"""Flow-control options of ``registry.task`` and the concurrency key of a new task."""

from __future__ import annotations

from typing import Any

import pytest

from tasktrack.domain.flow import Limits, Rate
from tasktrack.domain.identity import Principal
from tasktrack.errors import InvalidArgument
from tasktrack.service.flow import parse_rate
from tasktrack.service.registry import TaskRegistry
from tasktrack.service.tasks import TaskService
from tasktrack.storage.memory import MemoryTaskStore
from tests.conftest import ORG_A, USER_A


def noop(data: dict[str, Any], ctx: Any) -> None:
    return None


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("10/minute", Rate(10, 60.0)),
        ("10 per minute", Rate(10, 60.0)),
        ("100/2 hours", Rate(100, 7200.0)),
        ("3/second", Rate(3, 1.0)),
        ("5 per day", Rate(5, 86400.0)),
    ],
)
def test_rate_limits_are_read_with_the_limits_grammar(text: str, rate: Rate) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "ten per minute", "10/fortnight", "10"])
def test_a_bad_rate_limit_names_itself(text: str) -> None:
    with pytest.raises(ValueError, match="is not a rate"):
        parse_rate(text)


def test_registry_task_collects_the_options_and_lists_only_limited_types() -> None:
    registry = TaskRegistry()
    registry.task("a", concurrency=2, rate_limit="10/minute")(noop)
    registry.task("b", concurrency_key="customer")(noop)
    registry.task("c", concurrency_key=lambda d: d["x"], key_concurrency=3)(noop)
    registry.task("plain")(noop)
    assert registry.limits() == {
        "a": Limits(concurrency=2, rate=Rate(10, 60.0)),
        "b": Limits(per_key=1),
        "c": Limits(per_key=3),
    }


@pytest.mark.parametrize(
    "options",
    [
        {"key_concurrency": 2},  # a cap per key without a key
        {"concurrency": 0},
        {"rate_limit": "often"},
        {"concurrency_key": "k", "key_concurrency": 0},
    ],
)
def test_bad_options_fail_at_registration(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        TaskRegistry().task("t", **options)(noop)


async def created_key(data: dict[str, Any], key: Any = "customer") -> str | None:
    registry = TaskRegistry()
    registry.task("t", concurrency_key=key)(noop)
    service = TaskService(MemoryTaskStore(), registry)
    return (await service.create(Principal(USER_A, ORG_A), "t", data)).concurrency_key


async def test_the_key_is_computed_at_create_from_a_field_or_a_function() -> None:
    assert await created_key({"customer": "acme"}) == "acme"
    assert await created_key({"customer": 7}) == "7"
    assert await created_key({"customer": None}) is None  # no key: only type caps apply
    assert await created_key({"a": {"b": "x"}}, lambda d: d["a"]["b"]) == "x"


@pytest.mark.parametrize(
    ("data", "key", "message"),
    [
        ({}, "customer", "data.customer is required"),
        ({"a": 1}, lambda d: d["a"]["b"], "TypeError"),
        ({"customer": True}, "customer", "string or an integer"),
        ({"customer": 1.5}, "customer", "string or an integer"),
        ({"customer": "x" * 201}, "customer", "longer than 200"),
    ],
)
async def test_data_without_a_usable_key_is_invalid(data: Any, key: Any, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        await created_key(data, key)
