"""The multi-row form of a single-row INSERT (PostgreSQL's merged creates)."""

from __future__ import annotations

import pytest

from tasktrack.storage.postgres.dialect import insert_many
from tasktrack.storage.rows import insert_task


def test_rows_become_one_statement_returning_each_key() -> None:
    merge = insert_many("INSERT INTO t (id, a, data) VALUES (?, ?, ?::json)")
    sql, args = merge([("k1", 1, "{}"), ("k2", 2, "[]")])
    assert sql == "INSERT INTO t (id, a, data) VALUES (?, ?, ?::json), (?, ?, ?::json) RETURNING id"
    assert args == ("k1", 1, "{}", "k2", 2, "[]")


def test_the_task_insert_merges_on_its_id() -> None:
    columns = insert_task("?::json").count("?")
    sql, args = insert_many(insert_task("?::json"))([tuple(range(columns))] * 3)
    assert sql.endswith(" RETURNING id") and sql.count("?") == 3 * columns
    assert len(args) == 3 * columns


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE t SET a = ? WHERE id = ?",
        "INSERT INTO t (id) SELECT id FROM u",
        "INSERT INTO t (id) VALUES (?) RETURNING id",
    ],
)
def test_anything_but_a_single_row_insert_is_refused(sql: str) -> None:
    with pytest.raises(ValueError, match="single-row INSERT"):
        insert_many(sql)
