"""uvicorn's HTTP protocol with a header timeout.

uvicorn arms its keep-alive timer only after a response, and cancels it on the first byte that
arrives; nothing bounds the time before a request's headers are complete. So a connection
that sends nothing, or half a request line, stays open for as long as the client likes, and a
few hundred of them exhaust the server. This subclass arms a timer when a connection opens
and again after each response, and cancels it once a request's headers are complete: a client
gets ``header_timeout`` seconds to send a whole request head. HTTP parsing stays uvicorn's.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def header_timeout_protocol(seconds: float) -> type[HttpToolsProtocol]:
    """A protocol class (for ``uvicorn.Config(http=...)``) closing slow request heads."""

    class ConfiguredHeaderTimeout(HeaderTimeoutProtocol):
        header_timeout = seconds

    return ConfiguredHeaderTimeout


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """Closes a connection whose request head is not complete ``header_timeout`` s after it
    opened or after its previous response."""

    header_timeout: float = 10.0
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        self._cancel_header_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # A kept-alive connection gets the same allowance for its next request head (unless a
        # pipelined request, whose head is already complete, has just started).
        if not self.transport.is_closing() and not self.pipeline:
            self._arm_header_timer()

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._header_timed_out)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timed_out(self, *_: Any) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()
