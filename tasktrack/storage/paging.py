"""Turning one fetched window of rows into a Page with cursors, the same way for every store."""

from __future__ import annotations

from tasktrack.domain.listing import Cursor, ListQuery, Page, SortKey, sort_values
from tasktrack.domain.task import Task


def page_from_window(
    items: list[Task], total: int, sort: tuple[SortKey, ...], more: bool, query: ListQuery
) -> Page:
    """Build a Page from the rows of one window, already in display order.

    ``more`` says whether a row lay beyond the window in the direction of travel (stores
    fetch ``limit + 1`` rows to learn it). Walking backwards, the forward side always has
    more (we came from there); walking forwards, the backward side has more when we did
    not start at the top.
    """
    if not items:
        return Page((), total, None, None)
    backwards = query.cursor is not None and query.cursor.direction == "previous"
    has_next = True if backwards else more
    has_previous = more if backwards else (query.cursor is not None or query.skip > 0)
    return Page(
        tuple(items),
        total,
        Cursor("next", sort, sort_values(items[-1], sort)) if has_next else None,
        Cursor("previous", sort, sort_values(items[0], sort)) if has_previous else None,
    )
