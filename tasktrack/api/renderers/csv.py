"""``text/csv``: RFC 4180 CSV, a header row of the 13 contract fields, then one row per task.

* Rows end in CRLF; fields are quoted only when they must be (comma, quote, CR or LF).
* ``data`` is written as compact JSON, the other fields as their text; ``null`` is an empty cell
  (so is an empty string: ``failReason`` is ``""`` until a task fails, which reads back the same).
* A list's ``total`` and cursors are not rows: the API sends them as response headers, built by
  :func:`list_headers`, so that the body stays a plain table.
* Values are never altered, not even to defuse spreadsheet formulas (``=``, ``+``, ``-``, ``@``
  at the start of a cell): clients parse the CSV back and compare it field by field with the JSON.
  Anyone opening it in a spreadsheet must treat it as the untrusted data it is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from tasktrack.domain.task import CONTRACT_FIELDS


class CsvRenderer:
    """Renders tasks as a CSV table; one row per task, whether one task or a page of them."""

    media_type: str = "text/csv"
    content_type: str = "text/csv; charset=utf-8"

    def task(self, task: dict[str, Any], self_href: str) -> bytes:
        """The header row and the task's row."""
        return _table([task])

    def task_list(
        self,
        items: Sequence[tuple[dict[str, Any], str]],
        total: int,
        next_cursor: str | None,
        previous_cursor: str | None,
        links: dict[str, str | None],
    ) -> bytes:
        """The header row and one row per task; see :func:`list_headers` for the rest."""
        return _table(task for task, _ in items)


def list_headers(
    total: int, next_cursor: str | None, previous_cursor: str | None
) -> dict[str, str]:
    """The response headers that carry what a CSV list body cannot: total and cursors.

    Returns:
        ``X-Total-Count`` always; ``X-Next-Cursor`` and ``X-Previous-Cursor`` when not ``None``.
    """
    headers = {"X-Total-Count": str(total)}
    if next_cursor is not None:
        headers["X-Next-Cursor"] = next_cursor
    if previous_cursor is not None:
        headers["X-Previous-Cursor"] = previous_cursor
    return headers


def _table(tasks: Iterable[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CONTRACT_FIELDS)
    writer.writerows([_cell(task.get(field)) for field in CONTRACT_FIELDS] for task in tasks)
    return buffer.getvalue().encode()


def _cell(value: Any) -> str:
    """One field as cell text: ``None`` empty, objects and arrays (``data``) as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list | bool | float):
        return orjson.dumps(value).decode()
    return str(value)
