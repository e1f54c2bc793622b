"""``/webhooks`` (ours, issue 16): an organisation's webhook subscriptions and their latest
delivery attempts. JSON only; problem+json on failure (403 read-only for POST/DELETE, 404
another organisation's, 501 on a ``memory://`` database, which keeps no outbox).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tasktrack.api.body import read_json, require_json
from tasktrack.api.context import ApiContext, context_of
from tasktrack.api.problems import from_exception, problem
from tasktrack.api.representation import rfc3339
from tasktrack.domain.identity import Principal
from tasktrack.domain.webhooks import DeliveryAttempt, Subscription
from tasktrack.errors import InvalidArgument
from tasktrack.service.webhooks import DEFAULT_DELIVERIES, WebhookService

Handler = Callable[[Request, WebhookService, Principal], Awaitable[Response]]
JSON = "application/json"


class WebhooksUnavailable(Exception):
    """The database keeps no webhooks (``memory://``)."""


def _time(value: float) -> str | None:
    return rfc3339(datetime.fromtimestamp(value, UTC))


def subscription_fields(sub: Subscription) -> dict[str, Any]:
    """A subscription as the wire shows it (never its secret)."""
    return {
        "id": sub.id,
        "url": sub.url,
        "events": list(sub.events),
        "description": sub.description,
        "createdAt": _time(sub.created_at),
        "createdBy": sub.created_by,
    }


def delivery_fields(d: DeliveryAttempt) -> dict[str, Any]:
    return {
        "messageId": d.message_id,
        "event": d.event,
        "taskId": d.task_id,
        "attempt": d.attempt,
        "at": _time(d.at),
        "statusCode": d.status_code,
        "error": d.error,
        "durationMs": round(d.duration * 1000),
        "outcome": d.outcome,
    }


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON)


def _service(ctx: ApiContext) -> WebhookService:
    if ctx.webhooks is None:
        raise WebhooksUnavailable
    return ctx.webhooks


def _endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """``handler`` with the caller authenticated and failures as problem+json."""

    async def endpoint(request: Request) -> Response:
        try:
            ctx = context_of(request)
            principal = await ctx.authenticate(request)
            return await handler(request, _service(ctx), principal)
        except WebhooksUnavailable:
            return problem(request, 501, "webhooks need a SQLite or PostgreSQL database")
        except Exception as exc:
            return from_exception(request, exc)

    endpoint.__name__ = handler.__name__
    return endpoint


def _create_args(body: Any) -> tuple[str, list[str] | None, str]:
    if not isinstance(body, dict):
        raise InvalidArgument("the body must be a JSON object")
    url, events, description = body.get("url"), body.get("events"), body.get("description", "")
    if not isinstance(url, str):
        raise InvalidArgument("url is required and must be a string")
    if events is not None and not (
        isinstance(events, list) and all(isinstance(e, str) for e in events)
    ):
        raise InvalidArgument("events must be a list of event names")
    if not isinstance(description, str):
        raise InvalidArgument("description must be a string")
    return url, events, description


async def create_webhook(request: Request, hooks: WebhookService, who: Principal) -> Response:
    """``POST /webhooks``: 201 with the subscription and its ``secret`` (shown this once)."""
    require_json(request.headers.get("content-type"))
    body = await read_json(request, context_of(request).settings.max_body_bytes)
    created = await hooks.create(who, *_create_args(body))
    reply = {**subscription_fields(created.subscription), "secret": created.secret}
    response = _json(reply, 201)
    response.headers["Location"] = f"{request.url.path}/{created.subscription.id}"
    return response


async def list_webhooks(request: Request, hooks: WebhookService, who: Principal) -> Response:
    subs = await hooks.subscriptions(who)
    return _json({"items": [subscription_fields(s) for s in subs], "total": len(subs)})


async def get_webhook(request: Request, hooks: WebhookService, who: Principal) -> Response:
    """One subscription, with its messages per state (pending, delivered, dead)."""
    sub_id = request.path_params["webhook_id"]
    sub = await hooks.get(who, sub_id)
    return _json({**subscription_fields(sub), "messages": await hooks.counts(who, sub_id)})


async def delete_webhook(request: Request, hooks: WebhookService, who: Principal) -> Response:
    await hooks.delete(who, request.path_params["webhook_id"])
    return Response(status_code=204)


async def list_deliveries(request: Request, hooks: WebhookService, who: Principal) -> Response:
    """The latest delivery attempts, newest first (``?limit=``)."""
    raw = request.query_params.get("limit", str(DEFAULT_DELIVERIES))
    if not raw.isdigit():
        raise InvalidArgument("limit must be a positive integer")
    attempts = await hooks.deliveries(who, request.path_params["webhook_id"], int(raw))
    return _json({"items": [delivery_fields(d) for d in attempts]})


def webhook_routes(prefixes: Sequence[str]) -> list[Route]:
    """The webhook routes under each of ``prefixes``."""
    routes: list[Route] = []
    for p in prefixes:
        one = f"{p}/webhooks/{{webhook_id}}"
        routes += [
            Route(f"{p}/webhooks", _endpoint(list_webhooks), methods=["GET"]),
            Route(f"{p}/webhooks", _endpoint(create_webhook), methods=["POST"]),
            Route(one, _endpoint(get_webhook), methods=["GET"]),
            Route(one, _endpoint(delete_webhook), methods=["DELETE"]),
            Route(f"{one}/deliveries", _endpoint(list_deliveries), methods=["GET"]),
        ]
    return routes
