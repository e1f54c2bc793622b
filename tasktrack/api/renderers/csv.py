"""``text/csv``: RFC 4180 CSV, a header row of the 13 contract fields, then one row per task.

* Rows end in CRLF; fields are quoted only when they must be (comma, quote, CR or LF).
* ``data`` is written as compact JSON, the other fields as their text; ``null`` is an empty cell
  (so is an empty string: ``failReason`` is ``""`` until a task fails, which reads back the same).
* A list's ``total`` and cursors are not rows: the API sends them as response headers, built by
  :func:`list_headers`, so that the body stays a plain table.
* Formula injection is defused as OWASP recommends: a cell that starts with ``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return gets a single quote (``'``) in front, so a spreadsheet shows
  it as text instead of evaluating it. Only text can start so (``name``, ``failReason``; ``data``
  is JSON and starts with ``{``; numbers are never negative), and a reader who wants the value
  back drops one leading ``'`` from a cell whose second character is one of those.
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


#: Cell starts a spreadsheet reads as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """One field as cell text: ``None`` empty, objects and arrays (``data``) as compact JSON,
    text that a spreadsheet would run as a formula behind a single quote."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    if isinstance(value, dict | list | bool | float):
        return orjson.dumps(value).decode()
    return str(value)
