"""Parse the query string of ``GET /tasks`` into a :class:`~tasktrack.domain.listing.ListQuery`."""

from __future__ import annotations

from starlette.datastructures import QueryParams

from tasktrack.domain.ids import is_valid_id
from tasktrack.domain.listing import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Cursor,
    FieldFilter,
    ListQuery,
    Scope,
    SortKey,
    parse_field_filter,
    parse_sort,
)
from tasktrack.errors import InvalidArgument

#: Parameters with their own meaning; any other name must be a filterable field.
RESERVED = frozenset(
    {"limit", "skip", "next", "previous", "sort", "filter", "projectId", "api_key"}
)


def _int(params: QueryParams, name: str, default: int, lo: int, hi: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidArgument(f"{name} must be an integer, got {raw[:40]!r}") from None
    if not lo <= value <= hi:
        raise InvalidArgument(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def parse_list_query(params: QueryParams, org_id: str) -> ListQuery:
    """Validate every parameter; the first problem found is raised as InvalidArgument."""
    project_id = _project_id(params)
    limit = _int(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    skip = _int(params, "skip", 0, 0, 10_000_000)
    cursor = _cursor(params)
    sort = _sort(params, cursor, skip)
    text = _text(params)
    return ListQuery(
        scope=Scope(org_id, project_id),
        filters=_filters(params),
        text=text or None,
        sort=cursor.sort if cursor else sort,
        limit=limit,
        skip=skip,
        cursor=cursor,
    )


def _project_id(params: QueryParams) -> str | None:
    project_id = params.get("projectId")
    if project_id is not None and not is_valid_id(project_id):
        raise InvalidArgument("projectId must be 24 lowercase hex characters")
    return project_id


def _cursor(params: QueryParams) -> Cursor | None:
    nxt, prev = params.get("next"), params.get("previous")
    if nxt is not None and prev is not None:
        raise InvalidArgument("give either next or previous, not both")
    if nxt is not None:
        return Cursor.decode(nxt, "next")
    if prev is not None:
        return Cursor.decode(prev, "previous")
    return None


def _sort(params: QueryParams, cursor: Cursor | None, skip: int) -> tuple[SortKey, ...]:
    """The requested sort, checked against the cursor (which carries the sort it was made with)."""
    sort = parse_sort(params.get("sort"))
    if cursor is not None and params.get("sort") is not None and sort != cursor.sort:
        raise InvalidArgument("sort differs from the sort the cursor was made with")
    if cursor is not None and skip:
        raise InvalidArgument("skip cannot be combined with a cursor")
    return sort


def _text(params: QueryParams) -> str | None:
    text = params.get("filter")
    if text is not None and len(text) > 200:
        raise InvalidArgument("filter is longer than 200 characters")
    return text


def _filters(params: QueryParams) -> tuple[FieldFilter, ...]:
    """One filter per non-reserved parameter name, its repeated values joined by commas."""
    names = [name for name in dict.fromkeys(params.keys()) if name not in RESERVED]
    return tuple(parse_field_filter(name, ",".join(params.getlist(name))) for name in names)
