"""Load the task registry from the built-in demo types plus the user's application modules."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable

from tasktrack.errors import InvalidArgument
from tasktrack.service.registry import TaskRegistry


def load_registry(modules: Iterable[str], *, demo: bool = True) -> TaskRegistry:
    """A registry with the demo types and every ``registry`` found in ``modules``.

    A module names its registry ``registry`` (or ``mod:attribute`` picks another name).
    """
    from tasktrack import demo as demo_module

    combined = TaskRegistry()
    if demo:
        combined.include(demo_module.registry)
    if "" not in sys.path:
        sys.path.insert(0, "")  # the current directory, as `python -m` would have it
    for spec in modules:
        module_name, _, attr = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise InvalidArgument(f"cannot import task module {module_name!r}: {exc}") from None
        found = getattr(module, attr or "registry", None)
        if not isinstance(found, TaskRegistry):
            raise InvalidArgument(f"{spec!r} has no TaskRegistry named {attr or 'registry'!r}")
        combined.include(found)
    return combined
