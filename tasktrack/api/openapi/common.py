"""Constants and small helpers shared by the OpenAPI document's parts."""

from __future__ import annotations

from typing import Any

JsonObject = dict[str, Any]

#: URL prefix of the task routes -> the suffix of their operationIds.
PREFIXES: dict[str, str] = {"/new/v2.0": "New", "/v2.0": ""}
TOKEN_PATH = "/auth/oauth2/token"
REVOKE_PATH = "/auth/oauth2/revoke"
ID_PATTERN = "^[0-9a-f]{24}$"
#: Largest Unix time the contract's integer timestamps take (2**31 - 1).
MAX_UNIX_TIME = 2_147_483_647
#: Longest ``filter`` text and largest ``skip`` (:mod:`tasktrack.api.query`).
MAX_FILTER_LENGTH = 200
MAX_SKIP = 10_000_000
#: Longest cursor :meth:`tasktrack.domain.listing.Cursor.decode` reads.
MAX_CURSOR_LENGTH = 2048
MAX_WAIT_SECONDS = 60
#: RFC 6749 section 5.2 error codes.
OAUTH2_ERRORS = (
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
)
#: Media types whose body is a document, not JSON: described as ``type: string``.
TEXT_BODY: JsonObject = {"type": "string"}


def ref(kind: str, name: str) -> JsonObject:
    return {"$ref": f"#/components/{kind}/{name}"}


SECURITY_SCHEMES: JsonObject = {
    "ApiKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "Supply the API Key in the HTTP-Header.",
    },
    "ApiKeyQuery": {
        "type": "apiKey",
        "in": "query",
        "name": "api_key",
        "description": "Supply the API Key in the Url-Query (never written to logs).",
    },
    "OAuth2": {
        "type": "oauth2",
        "description": "The access token received from the authorization server (RFC 6749).",
        "flows": {
            "password": {"tokenUrl": TOKEN_PATH, "refreshUrl": TOKEN_PATH, "scopes": {}},
            "clientCredentials": {"tokenUrl": TOKEN_PATH, "refreshUrl": TOKEN_PATH, "scopes": {}},
        },
    },
    "BearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "An access token from the token endpoint, as Authorization: Bearer.",
    },
}
