"""``tasktrack tasks prune``: delete finished tasks past retention, straight from the database.

The one server-side command of the ``tasks`` group (the rest are HTTP clients): like
``tasktrack db`` it opens the database of ``TASKTRACK_DATABASE_URL`` itself.
:mod:`tasktrack.cli.tasks` imports this module only when ``prune`` runs, so the client
commands never load the settings or the storage.
"""

from __future__ import annotations

import click

from tasktrack.cli.common import EXIT_USAGE, fail, run_async
from tasktrack.cli.settings import load_settings
from tasktrack.config import Settings
from tasktrack.domain.durations import format_duration, parse_duration
from tasktrack.domain.lifecycle import Status
from tasktrack.service.retention import PRUNABLE, Pruner, RetentionPolicy
from tasktrack.storage.factory import open_stores


def prune_tasks(
    older_than: str | None, statuses: tuple[str, ...], dry_run: bool, database_url: str | None
) -> None:
    """Prune (or with ``dry_run`` count) and print one line per status."""
    settings = load_settings(database_url=database_url)
    policy = _policy(settings, older_than, statuses)
    if not policy.cutoffs(0):
        click.echo("nothing to prune: retention is 0 (keep forever) for every status chosen")
        return

    async def go() -> dict[Status, int]:
        stores = await open_stores(
            settings.database_url, sqlite_synchronous=settings.sqlite_synchronous
        )
        try:
            pruner = Pruner(stores.tasks, policy)
            return await (pruner.counts() if dry_run else pruner.sweep(wait_busy=True))
        finally:
            await stores.close()

    for status, count in run_async(go).items():
        click.echo(_line(status, count, policy.ages[status], dry_run))


def _policy(
    settings: Settings, older_than: str | None, statuses: tuple[str, ...]
) -> RetentionPolicy:
    chosen = [Status(s) for s in statuses] or list(PRUNABLE)
    if older_than is None:
        ages = {s: float(getattr(settings, f"retention_{s.value}")) for s in chosen}
    else:
        ages = dict.fromkeys(chosen, _age(older_than))
    return RetentionPolicy(ages, batch=settings.prune_batch)


def _age(text: str) -> float:
    try:
        age = parse_duration(text)
    except ValueError as exc:
        fail(f"--older-than: {exc}", EXIT_USAGE)
    if age <= 0:
        fail("--older-than must be more than 0", EXIT_USAGE)
    return age


def _line(status: Status, count: int, age: float, dry_run: bool) -> str:
    verb = "would be deleted" if dry_run else "deleted"
    return f"{status.value}: {count} {verb} (finished more than {format_duration(age)} ago)"
