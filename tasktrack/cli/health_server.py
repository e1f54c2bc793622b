"""``tasktrack worker --health-port``: the health routes, served beside the worker.

The worker has no HTTP API, but an orchestrator still needs to ask it "alive?" and "able to
work?". This serves :func:`tasktrack.api.health.health_app` with the worker's checks (the
database answers with the current schema; the claim loop claimed recently) on uvicorn, in
the worker's own event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Iterator, Sequence

import uvicorn

from tasktrack.api.health import health_app
from tasktrack.observability.logs import logging_config
from tasktrack.service.health import Probe

log = logging.getLogger("tasktrack.health")


class _Server(uvicorn.Server):
    """uvicorn inside a process that handles its own signals (the worker's drain)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound now so that a port in use fails the command at once."""
    return socket.create_server((host, port), reuse_port=False)


@contextlib.asynccontextmanager
async def serving_health(
    sock: socket.socket, probes: Sequence[Probe], log_format: str, log_level: str
) -> AsyncIterator[None]:
    """Serve ``/health``, ``/health/live`` and ``/health/ready`` on ``sock`` for the block."""
    config = uvicorn.Config(
        health_app(probes),
        log_config=logging_config(log_format, log_level),
        log_level=log_level,
        access_log=False,
        lifespan="off",
        server_header=False,
    )
    server = _Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    host, port = sock.getsockname()[:2]
    log.info("worker health on http://%s:%d/health/ready", host, port)
    try:
        yield
    finally:
        server.should_exit = True
        await serving
