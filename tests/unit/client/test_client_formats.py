"""Tasks as JSON, YAML and the contract's CSV, streamed one task at a time."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import pytest
import yaml

from tasktrack.client import Task
from tasktrack.client.formats import Format, write_task, write_tasks
from tasktrack.client.models import CONTRACT_FIELDS
from tests.unit.client.test_client_models import contract_task

TASKS = [
    Task.from_json(contract_task(_id=f"{i:024x}", data={"n": i, "text": 'a,b\n"c"'}))
    for i in range(3)
]


def test_json_list_is_an_array_of_contract_objects() -> None:
    out = io.StringIO()
    assert write_tasks(TASKS, "json", out) == 3
    parsed = json.loads(out.getvalue())
    assert [item["_id"] for item in parsed] == [t.id for t in TASKS]
    assert list(parsed[0]) == list(CONTRACT_FIELDS)


def test_yaml_list_is_a_sequence() -> None:
    out = io.StringIO()
    write_tasks(TASKS, "yaml", out)
    assert [item["data"]["n"] for item in yaml.safe_load(out.getvalue())] == [0, 1, 2]


def test_csv_has_the_contract_header_and_data_as_json() -> None:
    out = io.StringIO()
    write_tasks(TASKS, "csv", out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == list(CONTRACT_FIELDS)
    assert len(rows) == 4
    assert json.loads(rows[1][1]) == {"n": 0, "text": 'a,b\n"c"'}
    assert rows[1][CONTRACT_FIELDS.index("lastFinishedAt")] == ""  # null is an empty cell


def test_empty_lists_are_still_valid_documents() -> None:
    for fmt, load in (("json", json.loads), ("yaml", yaml.safe_load)):
        out = io.StringIO()
        assert write_tasks([], fmt, out) == 0  # type: ignore[arg-type]
        assert load(out.getvalue()) == []


@pytest.mark.parametrize("fmt", ["json", "yaml", "csv"])
def test_each_task_is_written_before_the_next_is_fetched(fmt: Format) -> None:
    out = io.StringIO()
    written: list[int] = []

    def lazily() -> Iterator[Task]:
        for task in TASKS:
            written.append(sum(t.id in out.getvalue() for t in TASKS))
            yield task

    write_tasks(lazily(), fmt, out)
    assert written == [0, 1, 2]


def test_one_task_as_json_and_yaml() -> None:
    for fmt, load in (("json", json.loads), ("yaml", yaml.safe_load)):
        out = io.StringIO()
        write_task(TASKS[1], fmt, out)  # type: ignore[arg-type]
        assert load(out.getvalue())["_id"] == TASKS[1].id
