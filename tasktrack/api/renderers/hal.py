"""``application/hal+json``: the plain JSON body plus ``_links``, the contract's default type.

GET of one task is the API's hot path, so :meth:`HalRenderer.task` does not copy the task dict
to add ``_links``: it serialises the dict once and splices the link object in before the closing
brace (orjson writes no whitespace, so a non-empty object always ends in ``}``). Lists reuse the
same bytes per item through :class:`orjson.Fragment`, which orjson embeds verbatim.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

#: Link relations of a list page, in the order they are written.
_LIST_RELATIONS: tuple[str, ...] = ("self", "next", "previous")


class HalRenderer:
    """Renders tasks as HAL: each task with a ``self`` link, each page with its navigation."""

    media_type: str = "application/hal+json"
    content_type: str = "application/hal+json"

    def task(self, task: dict[str, Any], self_href: str) -> bytes:
        """The task's fields, then ``"_links": {"self": {"href": self_href}}``."""
        body = orjson.dumps(task)
        links = b'"_links":{"self":{"href":' + orjson.dumps(self_href) + b"}}}"
        if body == b"{}":
            return b"{" + links
        return b"".join((body[:-1], b",", links))

    def task_list(
        self,
        items: Sequence[tuple[dict[str, Any], str]],
        total: int,
        next_cursor: str | None,
        previous_cursor: str | None,
        links: dict[str, str | None],
    ) -> bytes:
        """The plain list body, then ``_links`` with ``self``, ``next``, ``previous`` if given."""
        return orjson.dumps(
            {
                "items": [orjson.Fragment(self.task(task, href)) for task, href in items],
                "total": total,
                "nextCursor": next_cursor,
                "previousCursor": previous_cursor,
                "_links": {
                    relation: {"href": href}
                    for relation in _LIST_RELATIONS
                    if (href := links.get(relation)) is not None
                },
            }
        )
