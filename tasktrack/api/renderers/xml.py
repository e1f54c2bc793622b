r"""``application/xml`` and ``text/xml``: the contract's XML shape, one renderer for both.

Shape. One task is ``<task>`` with the 13 fields as children, in order; a list is ``<tasks>``
with ``<items>`` (holding ``<task>`` elements), ``<total>``, ``<nextCursor>``,
``<previousCursor>``. Values map as follows:

* object member: a child element named by its key when the key is an XML name that does not
  start with ``xml`` (any case; those names are reserved) and has no colon (it would need a
  namespace); otherwise ``<member name="the key">``;
* array: one ``<item>`` child per element; ``null``: an empty element with ``nil="true"``;
* ``true``/``false`` as those words, numbers as JSON writes them, strings as text.

XML is for reading: it does not keep JSON's types (``"1"`` and ``1`` look alike), so clients that
need them use JSON.

Names. XML 1.0's 5th edition widened the characters allowed in names, but expat (which Python
and defusedxml use) still implements the 4th edition's tables. A key outside them would make the
document malformed for such a client, so a non-ASCII key becomes an element name only when it is
a 5th-edition name *and* expat accepts it (asked once per key, then memoised).

Escaping. XML 1.0 cannot carry U+0000-U+001F other than tab, newline and carriage return, nor
lone surrogates, nor U+FFFE/U+FFFF. Such a string is written with each of those characters
replaced by the six characters ``\uXXXX`` (lowercase hex) and every backslash doubled, and its
element gets ``escaped="true"``; a ``member`` whose key needed this gets ``nameEscaped="true"``.
Reverse it by replacing ``\\`` with ``\`` and ``\uXXXX`` with its character, only in marked
values; unmarked values are literal. Carriage returns are written as ``&#13;`` (and, in
attributes, tab and newline as references too) so that parsers do not normalise them away.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Any
from xml.parsers import expat

import orjson

_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
_NOT_XML_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ASCII_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9._-]*")
# XML 1.0 5th edition, production [5] Name, without ":".
_NAME_START = (
    "A-Z_a-z\xc0-\xd6\xd8-\xf6\xf8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c\u200d\u2070-\u218f"
    "\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_NAME = re.compile(f"[{_NAME_START}][{_NAME_START}\\-.0-9\xb7\u0300-\u036f\u203f\u2040]*")


class XmlRenderer:
    """Renders tasks as XML documents; one instance per media type it answers as."""

    def __init__(self, media_type: str) -> None:
        self.media_type = media_type
        self.content_type = f"{media_type}; charset=utf-8"

    def task(self, task: dict[str, Any], self_href: str) -> bytes:
        """``<task>`` with the task's fields; links have no place in the XML shape."""
        parts = [_DECLARATION]
        _write_value(parts, "task", "", task)
        return "".join(parts).encode()

    def task_list(
        self,
        items: Sequence[tuple[dict[str, Any], str]],
        total: int,
        next_cursor: str | None,
        previous_cursor: str | None,
        links: dict[str, str | None],
    ) -> bytes:
        """``<tasks>`` with ``<items>``, ``<total>``, ``<nextCursor>``, ``<previousCursor>``."""
        parts = [_DECLARATION, "<tasks>"]
        _write_value(parts, "items", "", [task for task, _ in items], item_name="task")
        _write_member(parts, "total", total)
        _write_member(parts, "nextCursor", next_cursor)
        _write_member(parts, "previousCursor", previous_cursor)
        parts.append("</tasks>")
        return "".join(parts).encode()


def _write_member(parts: list[str], key: str, value: Any) -> None:
    """One object member: an element named by ``key``, or ``<member name="key">``."""
    if is_element_name(key):
        _write_value(parts, key, "", value)
        return
    name, escaped = _escape(key, _escape_attribute)
    _write_value(parts, "member", f' name="{name}"' + (' nameEscaped="true"' * escaped), value)


def _write_value(
    parts: list[str], tag: str, attributes: str, value: Any, item_name: str = "item"
) -> None:
    """``value`` as the element ``<tag attributes>``, appended to ``parts``."""
    if value is None:
        parts.append(f'<{tag}{attributes} nil="true"/>')
        return
    if isinstance(value, str):
        text, escaped = _escape(value, _escape_text)
        if escaped:
            attributes += ' escaped="true"'
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = orjson.dumps(value).decode()
    elif isinstance(value, dict):
        parts.append(f"<{tag}{attributes}>")
        for key, member in value.items():
            _write_member(parts, key, member)
        parts.append(f"</{tag}>")
        return
    elif isinstance(value, list | tuple):
        parts.append(f"<{tag}{attributes}>")
        for item in value:
            _write_value(parts, item_name, "", item)
        parts.append(f"</{tag}>")
        return
    else:
        raise TypeError(f"not a JSON value: {type(value).__name__}")
    parts.append(f"<{tag}{attributes}>{text}</{tag}>")


def _escape(value: str, escape_markup: Callable[[str], str]) -> tuple[str, bool]:
    """``value`` made safe for XML, and whether the ``\\uXXXX`` scheme had to be applied."""
    if _NOT_XML_CHAR.search(value) is None:
        return escape_markup(value), False
    value = _NOT_XML_CHAR.sub(_reference, value.replace("\\", "\\\\"))
    return escape_markup(value), True


def _reference(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _escape_text(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def _escape_attribute(text: str) -> str:
    return _escape_text(text).replace('"', "&quot;").replace("\t", "&#9;").replace("\n", "&#10;")


def is_element_name(key: str) -> bool:
    """Whether ``key`` can be written as an element name (see the module docstring)."""
    if key[:3].lower() == "xml":
        return False
    if key.isascii():
        return _ASCII_NAME.fullmatch(key) is not None
    return _NAME.fullmatch(key) is not None and _expat_accepts(key)


@functools.lru_cache(maxsize=1024)
def _expat_accepts(name: str) -> bool:
    """Whether expat parses ``<name/>``; ``name`` is already a well-formed 5th-edition Name."""
    try:
        expat.ParserCreate().Parse(f"<{name}/>".encode(), True)
    except expat.ExpatError:
        return False
    return True


def xml_document(root: str, members: dict[str, Any], item_name: str = "item") -> bytes:
    """A document ``<root>`` with ``members`` as its children, in the shape above; the
    elements of a list member are named ``item_name`` (e.g. ``<items><attempt>...``)."""
    parts = [_DECLARATION, f"<{root}>"]
    for key, value in members.items():
        if isinstance(value, list):
            _write_value(parts, key, "", value, item_name=item_name)
        else:
            _write_member(parts, key, value)
    parts.append(f"</{root}>")
    return "".join(parts).encode()
