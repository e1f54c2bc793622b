"""SQL text shared by the SQLite and PostgreSQL stores: the list query builder.

Both dialects take the same WHERE/ORDER BY, written with ``?`` placeholders (the PostgreSQL
dialect turns them into ``%s``). Column names come from the domain's field map
(:data:`~tasktrack.domain.listing.FIELDS`), never from user input, so building text is safe.
"""

from __future__ import annotations

from typing import Any

from tasktrack.domain.listing import FIELDS, FieldFilter, ListQuery, SortKey

#: Fields whose filters the counters (migration 0011) can answer: they key its rows.
COUNTED_FIELDS = frozenset({"name", "status"})
_SUM_COUNTERS = "SELECT coalesce(sum(n), 0), coalesce(sum(pending), 0) FROM task_count_view"


def list_sql(
    query: ListQuery, ph: str = "?", lower: str = "lower"
) -> tuple[str, str, list[Any], list[Any]]:
    """Return (page SQL, count SQL, page params, count params) for ``query``.

    The count SQL returns one row: the total, and how many not-yet-compacted counter
    deltas it summed (0 when it counted the tasks themselves; see :func:`counted`).

    ``lower`` names a Unicode-aware lower-case SQL function (SQLite's own ``lower`` folds
    ASCII only, so the SQLite store registers ``tt_lower``).

    The page SQL selects ``limit + 1`` rows so the caller learns whether more exist. Walking
    backwards the order is reversed; the caller flips the rows back.
    """
    where = ["org_id = " + ph]
    params: list[Any] = [query.scope.org_id]
    if query.scope.project_id is not None:
        where.append("project_id = " + ph)
        params.append(query.scope.project_id)
    if query.text:
        escaped = query.text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(f"{lower}(name) LIKE {ph} ESCAPE '\\'")
        params.append(f"%{escaped}%")
    for f in query.filters:
        col = FIELDS[f.field]
        if f.range is not None:
            where.append(f"{col} BETWEEN {ph} AND {ph}")
            params.extend(f.range)
        elif len(f.values) == 1:
            where.append(f"{col} = {ph}")
            params.append(f.values[0])
        else:
            where.append(f"{col} IN ({', '.join([ph] * len(f.values))})")
            params.extend(f.values)
    count_params = list(params)
    count_sql = _count_sql(query, " AND ".join(where))

    sort = query.cursor.sort if query.cursor else query.sort
    backwards = query.cursor is not None and query.cursor.direction == "previous"
    if query.cursor is not None:
        pinned = {f.field for f in query.filters if f.range is None and len(f.values) == 1}
        clause, values = _keyset(sort, list(query.cursor.values), backwards, ph, pinned)
        where.append(clause)
        params.extend(values)
    order = ", ".join(f"{FIELDS[k.field]} {_dir(k, backwards)}" for k in sort)
    sql = f"SELECT * FROM tasks WHERE {' AND '.join(where)} ORDER BY {order} LIMIT {ph}"
    params.append(query.limit + 1)
    if query.skip:
        sql += f" OFFSET {ph}"
        params.append(query.skip)
    return sql, count_sql, params, count_params


def counted(query: ListQuery) -> bool:
    """True when the counters can give ``query``'s exact total: every condition is on a
    column that keys a counter row (org, project, name, status), so it holds for all the
    tasks a row counts or for none. The free-text filter is one on ``name``: it qualifies."""
    return all(_counted_filter(f) for f in query.filters)


def _counted_filter(f: FieldFilter) -> bool:
    return f.field in COUNTED_FIELDS and f.range is None


def _count_sql(query: ListQuery, where: str) -> str:
    if counted(query):
        # The view's columns bear the tasks' names, so the WHERE is the page's own.
        return f"{_SUM_COUNTERS} WHERE {where}"
    return f"SELECT count(*), 0 FROM tasks WHERE {where}"


def _dir(key: SortKey, backwards: bool) -> str:
    desc = (key.direction == "desc") != backwards
    return "DESC" if desc else "ASC"


def _keyset(
    sort: tuple[SortKey, ...], values: list[Any], backwards: bool, ph: str, pinned: set[str]
) -> tuple[str, list[Any]]:
    """Rows strictly after the boundary in travel order, for any mix of directions:
    a >= x AND ((a > x) OR (a = x AND b > y) OR ...) with > or < per key.

    The leading ``a >= x`` adds nothing logically: it is there for the planner. Without it
    SQLite seeks the sort index on ``org_id`` alone and walks from the first row to the
    cursor (251 ms at depth 1,000,000 against 0.7 ms with it), because it cannot turn an OR
    of ANDs into an index range. (A row-value comparison would also do, but only when every
    key travels the same direction.) A leading key that a filter already ``pinned`` to one
    value needs no bound, and SQLite then plans worse with one."""
    lead = sort[0]
    lead_op = ">=" if _dir(lead, backwards) == "ASC" else "<="
    bounded = lead.field not in pinned
    ors: list[str] = []
    params: list[Any] = [values[0]] if bounded else []
    for i, key in enumerate(sort):
        ands = []
        for prev, value in zip(sort[:i], values[:i], strict=True):
            ands.append(f"{FIELDS[prev.field]} = {ph}")
            params.append(value)
        op = ">" if _dir(key, backwards) == "ASC" else "<"
        ands.append(f"{FIELDS[key.field]} {op} {ph}")
        params.append(values[i])
        ors.append("(" + " AND ".join(ands) + ")")
    keyset = "(" + " OR ".join(ors) + ")"
    return (f"{FIELDS[lead.field]} {lead_op} {ph} AND {keyset}" if bounded else keyset), params
