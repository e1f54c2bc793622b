"""``application/json``: the contract's plain body, exactly what the original API sends.

Named ``plain_json`` so that it never shadows the standard library's ``json``. The task dicts
arrive JSON-ready and in the contract's field order; orjson keeps that order and serialises
without a copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson


class JsonRenderer:
    """Renders tasks as plain JSON, without hypermedia links."""

    media_type: str = "application/json"
    content_type: str = "application/json"

    def task(self, task: dict[str, Any], self_href: str) -> bytes:
        """One task object; ``self_href`` is not part of the plain representation."""
        return orjson.dumps(task)

    def task_list(
        self,
        items: Sequence[tuple[dict[str, Any], str]],
        total: int,
        next_cursor: str | None,
        previous_cursor: str | None,
        links: dict[str, str | None],
    ) -> bytes:
        """``{"items", "total", "nextCursor", "previousCursor"}``, in the contract's order."""
        return orjson.dumps(
            {
                "items": [task for task, _ in items],
                "total": total,
                "nextCursor": next_cursor,
                "previousCursor": previous_cursor,
            }
        )
