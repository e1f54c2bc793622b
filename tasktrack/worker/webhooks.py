"""Webhook delivery: a supervised loop in every worker sends the outbox's messages.

At least once: a message is claimed under a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
SQLite's one writer), so concurrent deliverers never take the same message at once, and one
whose deliverer died (``kill -9``) is due again when the lease runs out. The result is written
fenced on the claim's attempt number. A non-2xx answer (or none: timeout, refused, a target
now resolving to a private address) is retried after ``webhook_backoff`` doubling, up to
``webhook_max_attempts``; then the message is dead-lettered. Every attempt is recorded.

Requests are signed per the Standard Webhooks specification with the ``standardwebhooks``
package: ``webhook-id`` (the message id, the same on every retry, for de-duplication),
``webhook-timestamp`` and ``webhook-signature``. Redirects are not followed (a 3xx fails).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import orjson
from standardwebhooks.webhooks import Webhook

from tasktrack.config import Settings
from tasktrack.domain.webhooks import DeliveryAttempt, Message, Subscription, retry_delay
from tasktrack.errors import InvalidArgument
from tasktrack.service.webhook_secrets import SecretBox
from tasktrack.service.webhook_targets import check_target
from tasktrack.storage.base import Stores
from tasktrack.storage.webhook_base import WebhookStore
from tasktrack.worker.supervise import Step

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("tasktrack.webhooks")

#: Deliveries under way at once in one process (each slot refilled when its delivery ends).
BATCH = 10
#: A claim's lease beyond the request timeout (the result write, a slow event loop).
LEASE_MARGIN = 5.0
#: How often finished messages and attempts past retention are pruned.
PRUNE_EVERY = 3600.0
PRUNE_BATCH = 500
#: Longest response-body excerpt kept with a failed attempt.
ERROR_EXCERPT = 200


_DEFAULTS = Settings()


@dataclass(frozen=True)
class DeliveryOptions:
    """The deliverer's view of the settings (defaults from :class:`Settings`, written once)."""

    timeout: float = _DEFAULTS.webhook_timeout
    max_attempts: int = _DEFAULTS.webhook_max_attempts
    backoff: float = _DEFAULTS.webhook_backoff
    retention: float = _DEFAULTS.webhook_retention
    allow_private: bool = bool(_DEFAULTS.webhook_allow_private)
    poll_interval: float = _DEFAULTS.poll_interval

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryOptions:
        return cls(
            settings.webhook_timeout,
            settings.webhook_max_attempts,
            settings.webhook_backoff,
            settings.webhook_retention,
            bool(settings.webhook_allow_private),
            settings.poll_interval,
        )


def body_of(message: Message) -> bytes:
    """The request body: the Standard Webhooks envelope around the task's fields."""
    stamp = datetime.fromtimestamp(message.created_at, UTC).isoformat().replace("+00:00", "Z")
    envelope = {"type": message.event, "timestamp": stamp, "data": orjson.loads(message.payload)}
    return orjson.dumps(envelope)


def signed_headers(message_id: str, secret: str, body: bytes, now: float) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt (signed at send time)."""
    at = datetime.fromtimestamp(int(now), UTC)
    signature = Webhook(secret).sign(message_id, at, body.decode("utf-8"))
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now)),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": "tasktrack-webhooks",
    }


class Deliverer:
    """Claims due messages and sends them; :meth:`step` is one round (see the module doc)."""

    def __init__(
        self,
        store: WebhookStore,
        box: SecretBox,
        options: DeliveryOptions,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.box = box
        self.options = options
        self.clock = clock
        self._client: httpx.AsyncClient | None = None  # made at the first delivery
        self._pruned_at = 0.0
        self._inflight: set[asyncio.Task[None]] = set()

    async def settled(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) until no delivery is under way."""
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=timeout)

    async def close(self) -> None:
        """Let deliveries under way finish (each is bounded by the timeout), then close.
        Any cut short is delivered again when its lease runs out."""
        await self.settled(self.options.timeout + 1)
        for delivery in self._inflight:
            delivery.cancel()
        if self._client is not None:
            await self._client.aclose()

    def _http(self) -> httpx.AsyncClient:
        # Made (and httpx imported) at the first delivery, not when every worker starts: httpx
        # with its command-line module costs ~50 ms to import and the client an SSL context,
        # and most installations have no webhook subscription.
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(follow_redirects=False, timeout=self.options.timeout)
        return self._client

    async def step(self) -> None:
        """Start deliveries for the free slots (at most :data:`BATCH` under way, so one slow
        target does not hold up the others' messages); wait when none is free or due."""
        await self._prune_now_and_then()
        free = BATCH - len(self._inflight)
        if free <= 0:
            await asyncio.wait(self._inflight, return_when=asyncio.FIRST_COMPLETED)
            return
        lease = self.options.timeout + LEASE_MARGIN
        messages = await self.store.claim_messages(self.clock(), lease, free)
        if not messages:
            await asyncio.sleep(self.options.poll_interval)
            return
        for message in messages:
            delivery = asyncio.create_task(self._deliver_logged(message))
            self._inflight.add(delivery)
            delivery.add_done_callback(self._inflight.discard)

    async def _deliver_logged(self, message: Message) -> None:
        try:
            await self.deliver(message)
        except Exception:  # e.g. the database is down: the lease lapses, it is sent again
            log.exception("webhook message %s: recording the attempt failed", message.id)

    async def deliver(self, message: Message) -> None:
        """One attempt at ``message``, recorded whatever happens."""
        sub = await self.store.subscription(message.subscription_id)
        if sub is None:  # unsubscribed since the claim: its messages went with it
            return
        started = self.clock()
        code, error = await self._send(sub, message, started)
        outcome = self._outcome(message, code)
        attempt = DeliveryAttempt(
            sub.id, message.id, message.event, message.task_id, message.attempt, started,
            code, error, self.clock() - started, outcome,
        )  # fmt: skip
        retry_at = started + retry_delay(message.attempt, self.options.backoff)
        if not await self.store.record_delivery(message, attempt, retry_at):
            log.warning(
                "webhook message %s was reclaimed before its result was written", message.id
            )
        elif outcome == "dead":
            log.warning("webhook message %s to %s dead-lettered: %s", message.id, sub.id, error)

    def _outcome(self, message: Message, code: int) -> str:
        if 200 <= code < 300:
            return "delivered"
        return "dead" if message.attempt >= self.options.max_attempts else "retry"

    async def _send(self, sub: Subscription, message: Message, now: float) -> tuple[int, str]:
        """The response's status (0: none) and what went wrong, if anything."""
        import httpx  # see _http: loaded with the first delivery, a dict lookup after that

        try:
            await check_target(sub.url, self.options.allow_private)  # DNS may have changed
            body = body_of(message)
            headers = signed_headers(message.id, self.box.open_secret(sub.secret), body, now)
            response = await self._http().post(sub.url, content=body, headers=headers)
        except InvalidArgument as exc:
            return 0, f"refused: {exc.message}"
        except httpx.HTTPError as exc:
            return 0, f"{type(exc).__name__}: {exc}"[:ERROR_EXCERPT] or type(exc).__name__
        if 200 <= response.status_code < 300:
            return response.status_code, ""
        return response.status_code, response.text[:ERROR_EXCERPT]

    async def _prune_now_and_then(self) -> None:
        now = self.clock()
        if now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        while await self.store.prune(now - self.options.retention, PRUNE_BATCH) >= PRUNE_BATCH:
            await asyncio.sleep(0.01)  # let waiting writes in between batches


@contextlib.asynccontextmanager
async def delivery_loops(
    stores: Stores, settings: Settings
) -> AsyncIterator[list[tuple[str, Step]]]:
    """The worker's webhook loop over ``stores`` for the block (none where webhooks are not
    stored: ``memory://``); its HTTP client is closed after."""
    store: WebhookStore | None = getattr(stores, "webhooks", None)
    if store is None:
        yield []
        return
    box = await SecretBox.open(stores.identity, settings.webhook_key)
    deliverer = Deliverer(store, box, DeliveryOptions.from_settings(settings))
    try:
        yield [("webhook delivery", deliverer.step)]
    finally:
        await deliverer.close()
