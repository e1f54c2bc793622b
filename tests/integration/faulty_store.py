"""A TaskStore proxy that makes one method fail, to show the worker survives it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from tasktrack.storage.base import TaskStore


class InjectedFault(ValueError):
    """Raised by :class:`FaultyStore`; a ValueError, as a row that fails to decode raises."""


class FaultyStore:
    """Delegates to ``store``; the first ``times`` calls of ``method`` raise ``fault`` (None:
    every call). Counts every call by method name."""

    def __init__(
        self,
        store: TaskStore,
        method: str,
        times: int | None = 1,
        fault: Callable[[str], Exception] = InjectedFault,
    ) -> None:
        self._store = store
        self._method = method
        self._left = times
        self._fault = fault
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        real = getattr(self._store, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            if name == self._method and self._fault_due():
                raise self._fault(f"injected fault in {name}")
            return await real(*args, **kwargs)

        return call

    def _fault_due(self) -> bool:
        if self._left is None:
            return True
        if self._left > 0:
            self._left -= 1
            return True
        return False
