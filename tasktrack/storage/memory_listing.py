"""The memory store's list query: filter, sort in any mix of directions, and page by cursor
(the same answers as :func:`tasktrack.storage.sql.list_sql` gives the SQL stores)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tasktrack.domain.listing import FieldFilter, ListQuery, Page, Scope, sort_value
from tasktrack.domain.task import Task
from tasktrack.storage.memory_order import Directed
from tasktrack.storage.paging import page_from_window


def list_page(tasks: Iterable[Task], query: ListQuery) -> Page:
    matches = [t for t in tasks if _matches(t, query)]
    sort = query.cursor.sort if query.cursor else query.sort
    total = len(matches)
    backwards = query.cursor is not None and query.cursor.direction == "previous"

    def key(t: Task) -> tuple[Any, ...]:
        return tuple(Directed(sort_value(t, k.field), k.direction == "desc") for k in sort)

    matches.sort(key=key, reverse=backwards)
    if query.cursor is not None:
        boundary = tuple(
            Directed(v, k.direction == "desc")
            for v, k in zip(query.cursor.values, sort, strict=True)
        )
        matches = [t for t in matches if (key(t) < boundary if backwards else key(t) > boundary)]
    window = matches[query.skip : query.skip + query.limit + 1]
    more = len(window) > query.limit
    items = window[: query.limit]
    if backwards:
        items.reverse()
    return page_from_window(items, total, sort, more, query)


def in_scope(task: Task, scope: Scope) -> bool:
    return task.org_id == scope.org_id and (
        scope.project_id is None or task.project_id == scope.project_id
    )


def _matches(task: Task, query: ListQuery) -> bool:
    if not in_scope(task, query.scope):
        return False
    if query.text and query.text.lower() not in task.name.lower():
        return False
    return all(_filter_ok(task, f) for f in query.filters)


def _filter_ok(task: Task, f: FieldFilter) -> bool:
    value = sort_value(task, f.field)
    if f.range is not None:
        return bool(f.range[0] <= value <= f.range[1])
    return value in f.values
