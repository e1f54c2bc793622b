"""A handler's return value, as the child encodes it for the store."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tasktrack.domain.history import RESULT_MAX_BYTES
from tasktrack.domain.lifecycle import Status
from tasktrack.domain.task import Task
from tasktrack.service.registry import TaskRegistry
from tasktrack.worker.process import Outcome
from tasktrack.worker.result import ResultRefused, encode_result
from tasktrack.worker.settle import decide


@pytest.mark.parametrize(
    "value", [{"answer": 42}, [1, 2.5, "ü", None, True], "text", 0, {"nested": {"k": []}}]
)
def test_json_values_encode_compactly(value: Any) -> None:
    encoded = encode_result(value)
    assert encoded is not None and orjson.loads(encoded) == value
    assert ", " not in encoded and ": " not in encoded


def test_none_means_no_result() -> None:
    assert encode_result(None) is None


@pytest.mark.parametrize("value", [{1: "int key"}, {"s": {1, 2}}, object(), 2**70, b"bytes"])
def test_values_json_cannot_hold_are_refused_with_the_reason(value: Any) -> None:
    with pytest.raises(ResultRefused) as refused:
        encode_result(value)
    assert refused.value.reason.startswith("result is not JSON-serialisable: ")


def test_the_size_cap_counts_the_encoded_bytes() -> None:
    at_cap = "x" * (RESULT_MAX_BYTES - 2)  # plus two quotes: exactly the cap
    assert encode_result(at_cap) is not None
    with pytest.raises(ResultRefused) as refused:
        encode_result(at_cap + "x")
    assert refused.value.reason == f"result is {RESULT_MAX_BYTES + 1} bytes, over the 1 MiB limit"


def test_a_done_outcome_carries_its_result_to_the_finish_write() -> None:
    registry = TaskRegistry()
    registry.task("t")(lambda data, ctx: None)
    task = Task(
        id="a" * 24,
        name="t",
        data={},
        status=Status.ACTIVE,
        org_id="b" * 24,
        created_by="c" * 24,
        created_at=1,
        last_changed=1,
        last_changed_by="c" * 24,
        attempts=1,
    )
    verdict = decide(task, registry.get("t"), Outcome("done", "", '{"a":1}'), cancelling=False)
    assert (verdict.verb, verdict.result_json) == ("finish", '{"a":1}')
