"""The document's webhook parts (issue 16): the ``/webhooks`` management operations under
both prefixes, and the requests tasktrack sends (OpenAPI 3.1's top-level ``webhooks``)."""

from __future__ import annotations

from tasktrack.api.openapi.common import ID_PATTERN, PREFIXES, JsonObject
from tasktrack.api.openapi.responses import problem, replies
from tasktrack.domain.webhooks import EVENTS, MAX_DESCRIPTION_LENGTH, MAX_URL_LENGTH
from tasktrack.service.webhooks import DEFAULT_DELIVERIES, MAX_DELIVERIES, MAX_SUBSCRIPTIONS

_EVENTS: JsonObject = {"type": "array", "items": {"enum": list(EVENTS)}, "minItems": 1}
_TIME: JsonObject = {"type": "string", "format": "date-time"}
SUBSCRIPTION: JsonObject = {
    "type": "object",
    "required": ["id", "url", "events", "description", "createdAt", "createdBy"],
    "properties": {
        "id": {"type": "string", "pattern": ID_PATTERN},
        # As subscribed: an http(s) URL, not necessarily RFC 3986 (non-ASCII paths are kept).
        "url": {"type": "string"},
        "events": _EVENTS,
        "description": {"type": "string"},
        "createdAt": _TIME,
        "createdBy": {"type": "string"},
    },
}
_CREATED: JsonObject = {
    **SUBSCRIPTION,
    "required": [*SUBSCRIPTION["required"], "secret"],
    "properties": {
        **SUBSCRIPTION["properties"],
        "secret": {
            "type": "string",
            "description": "The signing secret (`whsec_…`), shown only in this reply.",
        },
    },
}
_COUNTS: JsonObject = {
    "type": "object",
    "description": "Messages per state; `dead` ones used up every attempt (dead letter).",
    "properties": {s: {"type": "integer", "minimum": 0} for s in ("pending", "delivered", "dead")},
}
_DELIVERY: JsonObject = {
    "type": "object",
    "properties": {
        "messageId": {"type": "string", "description": "The `webhook-id` header sent."},
        "event": {"enum": list(EVENTS)},
        "taskId": {"type": "string"},
        "attempt": {"type": "integer", "minimum": 1},
        "at": _TIME,
        "statusCode": {"type": "integer", "description": "0: no response (see `error`)."},
        "error": {"type": "string"},
        "durationMs": {"type": "integer", "minimum": 0},
        "outcome": {"enum": ["delivered", "retry", "dead"]},
    },
}
_ID_PARAM: JsonObject = {
    "name": "webhookId",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": ID_PATTERN},
}
_ERRORS = ("BadRequest", "Unauthorized", "NotFound", "TooManyRequests", "InternalError")
_UNAVAILABLE = problem("The database keeps no webhooks (memory://).", 501, (501,))


def _json(schema: JsonObject, description: str) -> JsonObject:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _op(op_id: str, summary: str, responses: JsonObject, **more: object) -> JsonObject:
    return {
        "operationId": op_id,
        "tags": ["Webhooks"],
        "summary": summary,
        "responses": {**responses, "501": _UNAVAILABLE},
        **more,
    }


# What the server takes, as far as a pattern can say it: scheme, a host name or IPv4
# address (no user:password@, no IPv6 literal), an optional port (0-65535), then anything
# but white space and control characters. The server checks the same (webhook_targets).
_PORT = r"([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
_URL_PATTERN = rf"^https?://[A-Za-z0-9._~-]+(:{_PORT})?([/?#][^\s\x00-\x1f\x7f-\x9f]*)?$"


def _collection(suffix: str) -> dict[str, JsonObject]:
    body = {
        "type": "object",
        "required": ["url"],
        "properties": {
            "url": {
                "type": "string",
                "maxLength": MAX_URL_LENGTH,
                "pattern": _URL_PATTERN,
                "description": "An absolute http:// or https:// URL without credentials.",
            },
            "events": {
                **_EVENTS,
                "type": ["array", "null"],
                "description": "Default (left out or null): every event.",
            },
            "description": {"type": "string", "maxLength": MAX_DESCRIPTION_LENGTH},
        },
    }
    listing = {"type": "object", "properties": {"items": {"type": "array", "items": SUBSCRIPTION},
                                                 "total": {"type": "integer"}}}  # fmt: skip
    return {
        "get": _op("listWebhooks" + suffix, "List the organisation's webhooks (ours)",
                   {"200": _json(listing, "The subscriptions."), **replies(*_ERRORS)}),
        "post": _op(
            "createWebhook" + suffix,
            "Subscribe a URL to task events (ours)",
            {"201": _json(_CREATED, "Created; the secret is shown only here."),
             **replies(*_ERRORS, "Forbidden", "Conflict", "UnsupportedMediaType",
                       "PayloadTooLarge")},
            description=(
                "Needs write access. The URL must resolve to public addresses only unless "
                "TASKTRACK_WEBHOOK_ALLOW_PRIVATE=1 (400 otherwise); at most "
                f"{MAX_SUBSCRIPTIONS} per organisation (409). Deliveries are signed per the "
                "Standard Webhooks specification with the returned secret."
            ),
            requestBody={"required": True, "content": {"application/json": {"schema": body}}},
        ),
    }  # fmt: skip


def _one(suffix: str) -> dict[str, JsonObject]:
    with_counts = {**SUBSCRIPTION, "properties": {**SUBSCRIPTION["properties"],
                                                  "messages": _COUNTS}}  # fmt: skip
    return {
        "get": _op("readWebhook" + suffix, "Read a webhook and its message counts (ours)",
                   {"200": _json(with_counts, "The subscription."), **replies(*_ERRORS)},
                   parameters=[_ID_PARAM]),
        "delete": _op("deleteWebhook" + suffix, "Delete a webhook (ours)",
                      {"204": {"description": "Deleted, with its pending messages."},
                       **replies(*_ERRORS, "Forbidden")},
                      parameters=[_ID_PARAM]),
    }  # fmt: skip


def _deliveries(suffix: str) -> dict[str, JsonObject]:
    limit = {"name": "limit", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_DELIVERIES,
                        "default": DEFAULT_DELIVERIES}}  # fmt: skip
    page = {"type": "object", "properties": {"items": {"type": "array", "items": _DELIVERY}}}
    return {
        "get": _op("listWebhookDeliveries" + suffix, "A webhook's latest delivery attempts",
                   {"200": _json(page, "Newest first."), **replies(*_ERRORS)},
                   parameters=[_ID_PARAM, limit]),
    }  # fmt: skip


def webhook_paths() -> dict[str, dict[str, JsonObject]]:
    """The management routes under both prefixes."""
    out: dict[str, dict[str, JsonObject]] = {}
    for p, s in PREFIXES.items():
        out[f"{p}/webhooks"] = _collection(s)
        out[f"{p}/webhooks/{{webhookId}}"] = _one(s)
        out[f"{p}/webhooks/{{webhookId}}/deliveries"] = _deliveries(s)
    return out


def outgoing_webhooks() -> dict[str, JsonObject]:
    """What a subscriber receives, per event (the document's top-level ``webhooks``)."""
    headers = {
        name: {"required": True, "schema": {"type": "string"}, "description": text}
        for name, text in (
            ("webhook-id", "The message id: the same on every retry (de-duplicate on it)."),
            ("webhook-timestamp", "Unix seconds when this attempt was signed."),
            ("webhook-signature", "`v1,<base64 HMAC-SHA256>` per Standard Webhooks."),
        )
    }
    envelope = {
        "type": "object",
        "required": ["type", "timestamp", "data"],
        "properties": {
            "type": {"enum": list(EVENTS)},
            "timestamp": _TIME,
            "data": {"type": "object", "description": "The task's fields at the event: _id, "
                     "name, status, projectId, attempt, currentStep, totalStep, failReason."},
        },
    }  # fmt: skip
    return {
        event: {
            "post": {
                "summary": f"Sent when {event} happens to a task of the organisation",
                "parameters": [{"name": h, "in": "header", **v} for h, v in headers.items()],
                "requestBody": {"content": {"application/json": {"schema": envelope}}},
                "responses": {"2XX": {"description": "Delivered; anything else is retried."}},
            }
        }
        for event in EVENTS
    }
