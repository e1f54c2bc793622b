"""``tasktrack worker``: run tasks from the database until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import signal

import click
import prometheus_client

from tasktrack.cli.main import fail, run_async, settings_from
from tasktrack.errors import TaskTrackError
from tasktrack.loader import load_registry
from tasktrack.storage.factory import open_stores
from tasktrack.worker.options import WorkerOptions
from tasktrack.worker.worker import Worker


@click.command()
@click.option(
    "--concurrency",
    "-c",
    type=int,
    help="Tasks run at once. [env: TASKTRACK_CONCURRENCY; default 2]",
)
@click.option(
    "--app",
    "apps",
    multiple=True,
    help="Module with a TaskRegistry named `registry` (repeatable). [env: TASKTRACK_APP_MODULES]",
)
@click.option("--database-url", help="[env: TASKTRACK_DATABASE_URL]")
@click.option(
    "--lease-seconds",
    type=float,
    help="Lease length; a worker silent this long is presumed dead. "
    "[env: TASKTRACK_LEASE_SECONDS; default 30]",
)
@click.option(
    "--cancel-grace",
    type=float,
    help="Seconds a handler gets to stop after a cancel before it is killed. "
    "[env: TASKTRACK_CANCEL_GRACE; default 10]",
)
@click.option(
    "--shutdown-timeout",
    type=float,
    help="On SIGTERM, seconds running tasks get before they are requeued. "
    "[env: TASKTRACK_SHUTDOWN_TIMEOUT; default 30]",
)
@click.option(
    "--poll-interval",
    type=float,
    help="Idle claim poll and cancel check interval. [env: TASKTRACK_POLL_INTERVAL; default 0.5]",
)
@click.option(
    "--reaper-interval",
    type=float,
    help="How often expired leases are recovered. [env: TASKTRACK_REAPER_INTERVAL; default 5]",
)
@click.option(
    "--metrics-port",
    type=int,
    help="Serve Prometheus metrics on this port (0: off). [env: TASKTRACK_METRICS_PORT]",
)
@click.pass_context
def worker(
    ctx: click.Context,
    concurrency: int | None,
    apps: tuple[str, ...],
    database_url: str | None,
    lease_seconds: float | None,
    cancel_grace: float | None,
    shutdown_timeout: float | None,
    poll_interval: float | None,
    reaper_interval: float | None,
    metrics_port: int | None,
) -> None:
    """Run queued tasks. SIGTERM stops claiming and lets running tasks finish (a second
    SIGTERM stops at once, requeueing them).

    \b
    Example:
      tasktrack worker --app myapp.tasks --concurrency 4
    """
    settings = settings_from(
        ctx,
        concurrency=concurrency,
        app_modules=apps or None,
        database_url=database_url,
        lease_seconds=lease_seconds,
        cancel_grace=cancel_grace,
        shutdown_timeout=shutdown_timeout,
        poll_interval=poll_interval,
        reaper_interval=reaper_interval,
        metrics_port=metrics_port,
    )
    try:
        registry = load_registry(settings.app_modules)
        options = WorkerOptions.from_settings(settings)
    except (TaskTrackError, ValueError) as exc:
        fail(str(exc))

    if settings.metrics_port:
        prometheus_client.start_http_server(settings.metrics_port, settings.host)

    async def go() -> None:
        stores = await open_stores(
            settings.database_url, sqlite_synchronous=settings.sqlite_synchronous
        )
        runner = Worker(stores.tasks, registry, options)
        loop = asyncio.get_running_loop()
        signals = {"count": 0}

        def on_signal() -> None:
            signals["count"] += 1
            runner.stop(force=signals["count"] > 1)

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal)
        try:
            await runner.run()
        finally:
            await stores.close()

    run_async(go)
