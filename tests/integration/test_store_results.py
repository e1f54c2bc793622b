"""Storage contract for results and re-run links: memory, SQLite and PostgreSQL alike."""

from __future__ import annotations

import orjson
import pytest

from tasktrack.domain.lifecycle import Status
from tasktrack.errors import LeaseLost
from tasktrack.storage.base import Stores
from tests.integration.test_store_contract import NOW, claim_one, new_task


async def test_finish_stores_the_result_with_the_done_move(stores: Stores) -> None:
    task = new_task()
    await stores.tasks.create(task)
    claimed = await claim_one(stores.tasks)
    value = orjson.dumps({"answer": 42, "ü": [1.5, None]}).decode()
    assert not await stores.tasks.has_result(task.id)  # running: none yet
    done = await stores.tasks.finish(task.id, claimed.attempts, NOW + 1, value)
    assert done.status is Status.DONE
    result = await stores.tasks.get_result(task.id)
    assert result is not None and await stores.tasks.has_result(task.id)
    assert (result.task_id, result.attempt, result.value_json) == (task.id, 1, value)
    assert result.created_at == pytest.approx(NOW + 1)


async def test_finish_without_a_value_stores_no_result(stores: Stores) -> None:
    task = new_task()
    await stores.tasks.create(task)
    claimed = await claim_one(stores.tasks)
    await stores.tasks.finish(task.id, claimed.attempts, NOW + 1)
    assert (await stores.tasks.get(task.id)).status is Status.DONE  # type: ignore[union-attr]
    assert await stores.tasks.get_result(task.id) is None
    assert not await stores.tasks.has_result(task.id)


async def test_a_refused_finish_stores_no_result(stores: Stores) -> None:
    task = new_task(max_attempts=2)
    await stores.tasks.create(task)
    claimed = await claim_one(stores.tasks)
    await stores.tasks.retry(task.id, claimed.attempts, NOW, NOW)
    with pytest.raises(LeaseLost):
        await stores.tasks.finish(task.id, claimed.attempts, NOW + 1, '{"stale":true}')
    assert await stores.tasks.get_result(task.id) is None
    again = await claim_one(stores.tasks, NOW + 2)
    await stores.tasks.finish(task.id, again.attempts, NOW + 3, "[2]")
    result = await stores.tasks.get_result(task.id)
    assert result is not None and (result.attempt, result.value_json) == (2, "[2]")


async def test_a_second_finish_of_the_same_attempt_keeps_the_first_result(stores: Stores) -> None:
    task = new_task()
    await stores.tasks.create(task)
    claimed = await claim_one(stores.tasks)
    await stores.tasks.finish(task.id, claimed.attempts, NOW + 1, "1")
    with pytest.raises(LeaseLost):
        await stores.tasks.finish(task.id, claimed.attempts, NOW + 2, "2")
    result = await stores.tasks.get_result(task.id)
    assert result is not None and result.value_json == "1"


async def test_get_result_of_a_missing_task_is_none(stores: Stores) -> None:
    assert await stores.tasks.get_result(new_task().id) is None


async def test_reruns_lists_the_linked_tasks_newest_first(stores: Stores) -> None:
    original = new_task()
    await stores.tasks.create(original)
    first = new_task(now=NOW + 1).evolve(rerun_of=original.id)
    second = new_task(now=NOW + 2).evolve(rerun_of=original.id)
    unrelated = new_task(now=NOW + 3)
    for task in (second, first, unrelated):
        await stores.tasks.create(task)
    assert await stores.tasks.reruns(original.id, 100) == [second.id, first.id]
    assert await stores.tasks.reruns(original.id, 1) == [second.id]
    assert await stores.tasks.reruns(second.id, 100) == []
    stored = await stores.tasks.get(first.id)
    assert stored is not None and stored.rerun_of == original.id
