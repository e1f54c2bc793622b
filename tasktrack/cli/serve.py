"""``tasktrack serve``: the API (and, from the runtime on, an in-process worker)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import click
import uvicorn
from starlette.applications import Starlette

from tasktrack.api.app import create_app
from tasktrack.api.context import ApiContext
from tasktrack.cli.common import run_async
from tasktrack.cli.http_protocol import header_timeout_protocol
from tasktrack.cli.settings import load_settings, registry_of
from tasktrack.config import Settings
from tasktrack.service.registry import TaskRegistry
from tasktrack.storage.factory import open_stores
from tasktrack.worker.embedded import embedded_worker
from tasktrack.worker.options import WorkerOptions


@click.command()
@click.option("--host", help="Interface to listen on. [env: TASKTRACK_HOST; default 127.0.0.1]")
@click.option("--port", type=int, help="Port to listen on. [env: TASKTRACK_PORT; default 8000]")
@click.option(
    "--database-url",
    help="Database URL, e.g. sqlite:///data/tasktrack.db [env: TASKTRACK_DATABASE_URL]",
)
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
    # Create or upgrade the database now, so that a bad URL or a schema newer than this
    # tasktrack is one clear line and an exit code, not a traceback from inside uvicorn.
    run_async(lambda: _prepare_database(settings))
    _run(settings, _app(settings, registry))


def _app(settings: Settings, registry: TaskRegistry) -> Starlette:
    def ready(_: ApiContext) -> None:
        click.echo(f"tasktrack is serving on http://{settings.host}:{settings.port}/", err=True)

    # Settings were validated when read: building the app reads and checks nothing more.
    extensions = [_in_process_worker(settings, registry)] if settings.worker else []
    return create_app(settings, registry, extensions=extensions, on_ready=ready)


def _in_process_worker(
    settings: Settings, registry: TaskRegistry
) -> Callable[[ApiContext], AbstractAsyncContextManager[Any]]:
    options = WorkerOptions.from_settings(settings)

    def in_process_worker(api: ApiContext) -> AbstractAsyncContextManager[Any]:
        return embedded_worker(
            api.stores.tasks, api.tasks, registry, options, workers=api.stores.workers
        )

    return in_process_worker


def _run(settings: Settings, app: Starlette) -> None:
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        access_log=False,  # ours leaves out query strings, where api_key may be
        log_level=settings.log_level,
        server_header=False,
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
        # Bounds on what idle or slow clients can hold: see tasktrack.cli.http_protocol.
        http=header_timeout_protocol(settings.header_timeout),
        timeout_keep_alive=settings.keep_alive_timeout,
        limit_concurrency=settings.limit_concurrency or None,
    )


async def _prepare_database(settings: Settings) -> None:
    stores = await open_stores(
        settings.database_url, sqlite_synchronous=settings.sqlite_synchronous
    )
    await stores.close()
