"""``tasktrack serve``: the API (and, from the runtime on, an in-process worker)."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import click
import uvicorn
from starlette.applications import Starlette

from tasktrack.api.app import create_app
from tasktrack.api.context import ApiContext
from tasktrack.cli.common import DATABASE_URL_HELP, EXIT_USAGE, fail, run_async
from tasktrack.cli.http_protocol import header_timeout_protocol
from tasktrack.cli.settings import load_settings, registry_of
from tasktrack.config import Settings
from tasktrack.observability import tracing
from tasktrack.observability.logs import logging_config
from tasktrack.service.registry import TaskRegistry
from tasktrack.service.scheduler import resolver_of
from tasktrack.storage.factory import open_stores
from tasktrack.worker.embedded import embedded_worker
from tasktrack.worker.inline import inline_names
from tasktrack.worker.options import WorkerOptions
from tasktrack.worker.webhooks import delivery_loops

log = logging.getLogger("tasktrack.serve")


@click.command()
@click.option("--host", help="Interface to listen on. [env: TASKTRACK_HOST; default 127.0.0.1]")
@click.option("--port", type=int, help="Port to listen on. [env: TASKTRACK_PORT; default 8000]")
@click.option("--database-url", help=DATABASE_URL_HELP)
@click.option(
    "--app",
    "apps",
    multiple=True,
    help="Module with a TaskRegistry named `registry` (repeatable). [env: TASKTRACK_APP_MODULES]",
)
@click.option(
    "--worker/--no-worker",
    "run_worker",
    default=None,
    help="Run a worker in the server process. [env: TASKTRACK_WORKER=1|0; default on]",
)
@click.option(
    "--concurrency",
    "-c",
    type=int,
    help="In-process worker's concurrency. [env: TASKTRACK_CONCURRENCY; default 2]",
)
def serve(apps: tuple[str, ...], run_worker: bool | None, **flags: Any) -> None:
    """Serve the Tasks API over HTTP.

    \b
    Example:
      tasktrack serve --host 0.0.0.0 --port 8000
    """
    # The other flags (host, port, database_url, concurrency) are named as their settings.
    worker = None if run_worker is None else int(run_worker)
    settings = load_settings(app_modules=apps or None, worker=worker, **flags)
    registry = registry_of(settings)
    try:
        tracing.configure(bool(settings.otel))
        if settings.worker:  # what the embedded worker would refuse, refused here in one line
            names, _ = registry.serving(settings.queues)
            if settings.in_process:
                inline_names(registry, names)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    # Create or upgrade the database now, so that a bad URL or a schema newer than this
    # tasktrack is one clear line and an exit code, not a traceback from inside uvicorn.
    run_async(lambda: _prepare_database(settings))
    _run(settings, _app(settings, registry))


def _app(settings: Settings, registry: TaskRegistry) -> Starlette:
    # Settings were validated when read: building the app reads and checks nothing more.
    extensions = [_in_process_worker(settings, registry)] if settings.worker else []
    return create_app(settings, registry, extensions=extensions)


def _in_process_worker(
    settings: Settings, registry: TaskRegistry
) -> Callable[[ApiContext], AbstractAsyncContextManager[None]]:
    options = WorkerOptions.from_settings(settings)

    @contextlib.asynccontextmanager
    async def in_process_worker(api: ApiContext) -> AsyncIterator[None]:
        resolve_org = resolver_of(api.identity)
        async with (
            delivery_loops(api.stores, settings) as loops,
            embedded_worker(
                api.stores.tasks,
                api.tasks,
                registry,
                options,
                resolve_org,
                loops,
                workers=api.stores.workers,
            ) as worker,
        ):
            api.probes.append(worker.readiness_probe())  # /health/ready sees its claim loop
            yield

    return in_process_worker


class _AnnouncingServer(uvicorn.Server):
    """uvicorn's server, saying where it serves once its socket is bound (not before: a
    port in use must not be preceded by a "serving on" line)."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            log.info("tasktrack is serving on http://%s:%d/", _url_host(host), port)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _run(settings: Settings, app: Starlette) -> None:
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        access_log=False,  # ours leaves out query strings, where api_key may be
        log_level=settings.log_level,
        # Our format for uvicorn's lines too, rather than its own formatters.
        log_config=logging_config(settings.log_format, settings.log_level),
        server_header=False,
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
        # Bounds on what idle or slow clients can hold: see tasktrack.cli.http_protocol.
        http=header_timeout_protocol(settings.header_timeout),
        timeout_keep_alive=settings.keep_alive_timeout,
        limit_concurrency=settings.limit_concurrency or None,
    )
    _AnnouncingServer(config).run()


async def _prepare_database(settings: Settings) -> None:
    stores = await open_stores(
        settings.database_url, sqlite_synchronous=settings.sqlite_synchronous
    )
    await stores.close()
