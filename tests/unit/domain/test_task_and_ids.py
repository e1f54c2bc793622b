from __future__ import annotations

import pytest

from tasktrack.domain.ids import is_valid_id, new_id
from tasktrack.domain.lifecycle import Status
from tasktrack.domain.task import CONTRACT_FIELDS, Task


def make(**kw: object) -> Task:
    base: dict[str, object] = dict(
        id=new_id(),
        name="n",
        data={},
        status=Status.QUEUED,
        org_id="o" * 24,
        created_by="u" * 24,
        created_at=1,
    )
    base.update(kw)
    return Task(**base)  # type: ignore[arg-type]


def test_current_step_may_not_pass_total_step() -> None:
    make(current_step=3, total_step=3)
    with pytest.raises(ValueError, match="currentStep"):
        make(current_step=4, total_step=3)
    with pytest.raises(ValueError):
        make(current_step=-1, total_step=3)


def test_evolve_rechecks_the_invariant() -> None:
    task = make(total_step=2)
    assert task.evolve(current_step=2).current_step == 2
    with pytest.raises(ValueError):
        task.evolve(current_step=5)


def test_ids_have_the_objectid_layout_and_grow_with_time() -> None:
    a = new_id(1_700_000_000)
    b = new_id(1_700_000_000)
    c = new_id(1_700_000_001)
    assert all(is_valid_id(x) for x in (a, b, c))
    assert int(a[:8], 16) == 1_700_000_000
    assert a < b < c
    assert len({new_id() for _ in range(10_000)}) == 10_000


@pytest.mark.parametrize(
    "bad", ["", "z" * 24, "A" * 24, "a" * 23, "a" * 25, "a" * 24 + "\n", " " + "a" * 23]
)
def test_invalid_ids_are_refused(bad: str) -> None:
    assert not is_valid_id(bad)


def test_contract_field_order_is_the_seeds() -> None:
    assert CONTRACT_FIELDS == (
        "name",
        "data",
        "status",
        "currentStep",
        "totalStep",
        "failReason",
        "lastRunAt",
        "lastFinishedAt",
        "_id",
        "createdAt",
        "lastChanged",
        "createdBy",
        "lastChangedBy",
    )
