"""``tasktrack webhooks``: an organisation's webhook subscriptions, on the database directly
(like ``apikey``): create (the secret is printed once, as the last line), list, delete, and
the latest delivery attempts. ``--user`` picks who acts, and so the organisation."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import click

from tasktrack.cli.common import fail, run_async
from tasktrack.cli.identity_db import DATABASE_URL_HELP
from tasktrack.cli.settings import load_settings
from tasktrack.config import Settings
from tasktrack.domain.identity import Principal
from tasktrack.domain.webhooks import EVENTS
from tasktrack.service.identity import IdentityService
from tasktrack.service.webhook_secrets import SecretBox
from tasktrack.service.webhooks import DEFAULT_DELIVERIES, WebhookService
from tasktrack.storage.factory import open_stores
from tasktrack.storage.webhook_base import WebhookStore

USER_HELP = "User id or e-mail acting (and so the organisation; default: the default user)."


@contextlib.asynccontextmanager
async def _acting(
    settings: Settings, user: str | None
) -> AsyncIterator[tuple[WebhookService, Principal]]:
    stores = await open_stores(
        settings.database_url, sqlite_synchronous=settings.sqlite_synchronous
    )
    try:
        store: WebhookStore | None = getattr(stores, "webhooks", None)
        if store is None:
            fail("webhooks need a SQLite or PostgreSQL database")
        identity = IdentityService(stores.identity)
        _, default_user = await identity.ensure_default()
        who = await identity.find_user(user) if user else default_user
        box = await SecretBox.open(stores.identity, settings.webhook_key)
        hooks = WebhookService(store, box, allow_private=bool(settings.webhook_allow_private))
        yield hooks, Principal(who.id, who.org_id, via="internal")
    finally:
        await stores.close()


@click.group()
def webhooks() -> None:
    """Manage webhook subscriptions (signed task-event notifications)."""


@webhooks.command("create")
@click.argument("url")
@click.option("--event", "events", multiple=True, type=click.Choice(EVENTS),
              help="An event to send (repeatable; default: all).")  # fmt: skip
@click.option("--description", default="", help="A note to recognise the webhook by.")
@click.option("--user", help=USER_HELP)
@click.option("--database-url", help=DATABASE_URL_HELP)
def create(
    url: str, events: tuple[str, ...], description: str, user: str | None, database_url: str | None
) -> None:
    """Subscribe URL to task events; prints the signing secret as the last line (only once).

    \b
    Example:
      SECRET=$(tasktrack webhooks create https://example.com/hook --event task.done | tail -n 1)
    """
    settings = load_settings(database_url=database_url)

    async def go() -> str:
        async with _acting(settings, user) as (hooks, who):
            made = await hooks.create(who, url, list(events) or None, description)
            sub = made.subscription
            click.echo(f"created webhook {sub.id} for {', '.join(sub.events)}")
            return made.secret

    click.echo(run_async(go))


@webhooks.command("list")
@click.option("--user", help=USER_HELP)
@click.option("--database-url", help=DATABASE_URL_HELP)
def list_(user: str | None, database_url: str | None) -> None:
    """List the organisation's webhooks: id, URL, events."""
    settings = load_settings(database_url=database_url)

    async def go() -> None:
        async with _acting(settings, user) as (hooks, who):
            for sub in await hooks.subscriptions(who):
                click.echo(f"{sub.id}  {sub.url}  {','.join(sub.events)}  {sub.description}")

    run_async(go)


@webhooks.command("delete")
@click.argument("webhook_id")
@click.option("--user", help=USER_HELP)
@click.option("--database-url", help=DATABASE_URL_HELP)
def delete(webhook_id: str, user: str | None, database_url: str | None) -> None:
    """Delete a webhook with its pending messages and history."""
    settings = load_settings(database_url=database_url)

    async def go() -> None:
        async with _acting(settings, user) as (hooks, who):
            await hooks.delete(who, webhook_id)

    run_async(go)
    click.echo(f"deleted webhook {webhook_id}")


@webhooks.command("deliveries")
@click.argument("webhook_id")
@click.option("--limit", type=int, default=DEFAULT_DELIVERIES, show_default=True,
              help="Most attempts to show, newest first.")  # fmt: skip
@click.option("--user", help=USER_HELP)
@click.option("--database-url", help=DATABASE_URL_HELP)
def deliveries(webhook_id: str, limit: int, user: str | None, database_url: str | None) -> None:
    """The latest delivery attempts of a webhook and its messages per state."""
    settings = load_settings(database_url=database_url)

    async def go() -> None:
        async with _acting(settings, user) as (hooks, who):
            counts = await hooks.counts(who, webhook_id)
            click.echo(", ".join(f"{state} {n}" for state, n in counts.items()))
            for d in await hooks.deliveries(who, webhook_id, limit):
                what = d.error or "ok"
                click.echo(
                    f"{d.message_id}  {d.event}  task {d.task_id}  attempt {d.attempt}  "
                    f"{d.status_code or '-'}  {d.outcome}  {round(d.duration * 1000)} ms  {what}"
                )

    run_async(go)
