"""``tasktrack worker``: run tasks from the database until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from typing import Any

import click
import prometheus_client

from tasktrack.cli.common import DATABASE_URL_HELP, fail, run_async
from tasktrack.cli.health_server import bind, serving_health
from tasktrack.cli.settings import load_settings, registry_of
from tasktrack.config import Settings
from tasktrack.observability import tracing
from tasktrack.service.health import database_probe
from tasktrack.service.identity import IdentityService
from tasktrack.service.registry import TaskRegistry
from tasktrack.service.scheduler import resolver_of
from tasktrack.storage.factory import open_stores
from tasktrack.worker.inline import inline_names
from tasktrack.worker.options import WorkerOptions
from tasktrack.worker.webhooks import delivery_loops
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
@click.option("--database-url", help=DATABASE_URL_HELP)
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
    "--queue",
    "queues",
    help="Serve only these queues (comma-separated); empty: every queue of the registered "
    "task types. [env: TASKTRACK_QUEUES]",
)
@click.option(
    "--in-process",
    "in_process",
    flag_value=1,
    default=None,
    help="Run async handlers in the worker's event loop, not child processes: faster, but "
    "a handler is then stopped only at an await; serves only async task types. "
    "[env: TASKTRACK_IN_PROCESS; default off]",
)
@click.option(
    "--metrics-port",
    type=int,
    help="Serve Prometheus metrics on this port (0: off). [env: TASKTRACK_METRICS_PORT]",
)
@click.option(
    "--health-port",
    type=int,
    help="Serve /health/live and /health/ready on this port (0: off). [env: TASKTRACK_HEALTH_PORT]",
)
def worker(apps: tuple[str, ...], queues: str | None, **flags: Any) -> None:
    """Run queued tasks. SIGTERM stops claiming and lets running tasks finish (a second
    SIGTERM stops at once, requeueing them).

    \b
    Example:
      tasktrack worker --app myapp.tasks --concurrency 4
    """
    # The other flags (concurrency, database_url, lease_seconds...) are named as their settings.
    listed = None if queues is None else tuple(q.strip() for q in queues.split(",") if q.strip())
    settings = load_settings(app_modules=apps or None, queues=listed, **flags)
    registry = registry_of(settings)
    try:
        options = WorkerOptions.from_settings(settings)
        tracing.configure(bool(settings.otel))
        names, _ = registry.serving(options.queues)
        if options.in_process:
            inline_names(registry, names)
    except ValueError as exc:
        fail(str(exc))
    if settings.metrics_port:
        prometheus_client.start_http_server(settings.metrics_port, settings.host)
    health = _health_socket(settings)
    run_async(lambda: _run(settings, registry, options, health), long_running=True)


def _health_socket(settings: Settings) -> socket.socket | None:
    if not settings.health_port:
        return None
    try:
        return bind(settings.host, settings.health_port)
    except OSError as exc:
        fail(f"cannot serve health on {settings.host}:{settings.health_port}: {exc.strerror}")


async def _run(
    settings: Settings,
    registry: TaskRegistry,
    options: WorkerOptions,
    health: socket.socket | None,
) -> None:
    stores = await open_stores(
        settings.database_url, sqlite_synchronous=settings.sqlite_synchronous
    )
    try:
        resolve_org = resolver_of(IdentityService(stores.identity))
        async with contextlib.AsyncExitStack() as stack:
            loops = await stack.enter_async_context(delivery_loops(stores, settings))
            runner = Worker(
                stores.tasks,
                registry,
                options,
                resolve_org=resolve_org,
                loops=loops,
                workers=stores.workers,
            )
            _stop_on_signals(runner)
            if health is not None:
                probes = [database_probe(stores.probe), runner.readiness_probe()]
                fmt, level = settings.log_format, settings.log_level
                await stack.enter_async_context(serving_health(health, probes, fmt, level))
            await runner.run()
    finally:
        await stores.close()


def _stop_on_signals(runner: Worker) -> None:
    """SIGTERM or SIGINT stops claiming and lets running tasks finish; a second one forces."""
    loop = asyncio.get_running_loop()
    received = [0]

    def on_signal() -> None:
        received[0] += 1
        runner.stop(force=received[0] > 1)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
