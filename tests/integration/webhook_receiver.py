"""A real HTTP receiver for webhook tests: a threaded server on a free loopback port.

It answers each request with the next status of a script (then 200), records every request
(headers and raw body), and can hold a request open until told to let go (to kill the sender
mid-delivery). Requests are verified by the tests, with the ``standardwebhooks`` package.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from standardwebhooks.webhooks import Webhook


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int

    def verified(self, secret: str) -> Any:
        """The body, once its Standard Webhooks signature checks out (raises otherwise)."""
        return Webhook(secret).verify(self.body, self.headers)

    @property
    def event(self) -> str:
        return str(orjson.loads(self.body)["type"])

    @property
    def message_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    url: str
    #: Statuses for the first requests, in order; afterwards 200.
    script: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    #: Set while a request is held (``hold_first``); set ``release`` to let it end.
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    hold_first: bool = False
    #: The request that was held (never answered).
    held_request: Received | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accepted(self) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if 200 <= r.status < 300]

    def all(self) -> list[Received]:
        with self.lock:
            return list(self.requests)

    def _next_status(self) -> tuple[int, bool]:
        with self.lock:
            hold = self.hold_first and not self.held.is_set()
            status = self.script.pop(0) if self.script else 200
            return status, hold


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status, hold = receiver._next_status()
            if hold:  # the sender is killed meanwhile: this request never gets its answer
                receiver.held_request = Received(dict(self.headers.items()), body, 0)
                receiver.held.set()
                receiver.release.wait(30)
                self.close_connection = True
                return
            with receiver.lock:
                receiver.requests.append(Received(dict(self.headers.items()), body, status))
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


def run_receiver(script: list[int] | None = None, hold_first: bool = False) -> Iterator[Receiver]:
    """A receiver for the block (a generator for ``contextlib.contextmanager``)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(Receiver("")))
    receiver = Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook", list(script or []))
    receiver.hold_first = hold_first
    server.RequestHandlerClass = _handler(receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()
        thread.join()
