"""One renderer per media type, looked up by the type :mod:`tasktrack.api.negotiation` chose.

Renderers are pure functions of JSON-ready task dicts (the contract's 13 fields, in order) to
bytes: no HTTP here, so the API layer sets ``Content-Type`` from :attr:`Renderer.content_type`
and each representation can be tested by parsing it back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from tasktrack.api.renderers.csv import CsvRenderer
from tasktrack.api.renderers.hal import HalRenderer
from tasktrack.api.renderers.plain_json import JsonRenderer
from tasktrack.api.renderers.xml import XmlRenderer


class Renderer(Protocol):
    """What every media type's renderer provides."""

    #: The media type this renderer answers for, as negotiation names it.
    media_type: str
    #: The ``Content-Type`` header value of its replies.
    content_type: str

    def task(self, task: dict[str, Any], self_href: str) -> bytes:
        """One task; ``self_href`` is its URL, for representations that link."""
        ...

    def task_list(
        self,
        items: Sequence[tuple[dict[str, Any], str]],
        total: int,
        next_cursor: str | None,
        previous_cursor: str | None,
        links: dict[str, str | None],
    ) -> bytes:
        """A page of tasks, each with its self URL; ``links`` maps self/next/previous to a URL
        or ``None`` (no such link)."""
        ...


#: Every supported media type's renderer, keyed like :data:`negotiation.SUPPORTED`.
RENDERERS: dict[str, Renderer] = {
    "application/hal+json": HalRenderer(),
    "application/json": JsonRenderer(),
    "application/xml": XmlRenderer("application/xml"),
    "text/xml": XmlRenderer("text/xml"),
    "text/csv": CsvRenderer(),
}

__all__ = ["RENDERERS", "CsvRenderer", "HalRenderer", "JsonRenderer", "Renderer", "XmlRenderer"]
