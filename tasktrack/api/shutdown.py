"""How the app learns that the server is shutting down, for requests that would otherwise
hold a SIGTERM up: long polls (``?wait=`` on a task or its log) and the event stream.

uvicorn waits for every open response before it runs the lifespan shutdown, and it has no
graceful-shutdown timeout by default, so an app cannot learn of the shutdown from its
lifespan: a dashboard following a task's log (``wait=25``) kept ``tasktrack serve`` up for
those 25 s after Ctrl-C, even after the browser had gone. uvicorn's signal handler is a bound
method of its ``Server``, whose ``should_exit`` flag is the earliest sign.
"""

from __future__ import annotations

import signal


def uvicorn_exiting() -> bool:
    """True once uvicorn has been asked to exit (SIGTERM/SIGINT). Any other server: False
    (a long poll's ``wait`` and a stream's lifetime bound it instead)."""
    handler = signal.getsignal(signal.SIGTERM)
    server = getattr(handler, "__self__", None)
    return getattr(server, "should_exit", False) is True
