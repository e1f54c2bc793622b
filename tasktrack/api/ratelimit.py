"""Rate limiting of *failed* authentication, per client address, so that API keys, passwords
and client secrets cannot be brute-forced over HTTP.

Only failures spend from a client's budget: a token bucket per address holding
``failures_per_minute`` tokens and refilled at that rate. Once it is empty, requests from that
address that present credentials (or ask the token endpoint) get a 429 with ``Retry-After``
until a token is back, even if the credentials are right: otherwise a guess that happened to
be right would still tell the attacker so. Authenticated traffic never touches a bucket; the
cost on its path is one lookup in a dict that is empty unless someone is being limited.

State is per process (a dict): with several API processes each limits on its own, so the
effective limit is the per-process limit times the process count. Keeping buckets in the
database would cost a write per failure and make the limiter a target of its own; the
per-process bound already turns brute force from millions of guesses a minute into tens.

The address is the ASGI ``client``. uvicorn sets it from ``X-Forwarded-For`` only when the
connection comes from a trusted proxy address (its ``FORWARDED_ALLOW_IPS``), so a direct
client cannot pick its own address.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from tasktrack.api.problems import problem
from tasktrack.config import Settings

#: Buckets kept before full ones are dropped; beyond twice this the oldest go too.
MAX_TRACKED = 10_000
TOKEN_PATH_PREFIX = "/auth/oauth2/"


@dataclass(frozen=True, slots=True)
class RateLimitPolicy:
    """The limiter's knob; the server builds it from ``Settings.auth_failures_per_minute``
    (``TASKTRACK_AUTH_FAILURES_PER_MINUTE``), whose default is also this one's.

    Args:
    failures_per_minute: failed authentications an address may make per minute (and in
        one burst); 0 turns the limiter off.
    """

    failures_per_minute: int = Settings.auth_failures_per_minute


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "-"


class FailedAuthLimiter:
    """Token buckets of failed authentications, keyed by client address."""

    def __init__(
        self, policy: RateLimitPolicy | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.policy = policy or RateLimitPolicy()
        self.clock = clock
        self._capacity = float(self.policy.failures_per_minute)
        self._rate = self._capacity / 60.0
        #: address -> (tokens left, when counted)
        self._buckets: dict[str, tuple[float, float]] = {}
        #: address -> monotonic time its block ends. Empty in normal operation.
        self.blocked: dict[str, float] = {}

    def retry_after(self, address: str) -> int | None:
        """Seconds until ``address`` may try again, or None if it is not blocked."""
        until = self.blocked.get(address)
        if until is None:
            return None
        remaining = until - self.clock()
        if remaining <= 0:
            self.blocked.pop(address, None)
            return None
        return max(1, math.ceil(remaining))

    def record_failure(self, address: str) -> None:
        """Spend one token of ``address``; block it when none is left."""
        if self._capacity <= 0:
            return
        now = self.clock()
        tokens, at = self._buckets.pop(address, (self._capacity, now))
        tokens = min(self._capacity, tokens + (now - at) * self._rate) - 1.0
        self._buckets[address] = (tokens, now)  # re-inserted: dict order = last failure
        if tokens < 1.0:
            self.blocked[address] = now + (1.0 - tokens) / self._rate
        if len(self._buckets) > MAX_TRACKED:
            self._prune(now)

    def _prune(self, now: float) -> None:
        full = [
            a
            for a, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self._rate >= self._capacity
        ]
        for address in full:
            del self._buckets[address]
        excess = len(self._buckets) - 2 * MAX_TRACKED
        for address in list(self._buckets)[: max(0, excess)]:
            del self._buckets[address]
        for address in [a for a, until in self.blocked.items() if until <= now]:
            del self.blocked[address]


def _presents_credentials(scope: Scope) -> bool:
    if scope["path"].startswith(TOKEN_PATH_PREFIX):
        return True
    if b"api_key=" in scope.get("query_string", b""):
        return True
    return any(name in (b"x-api-key", b"authorization") for name, _ in scope["headers"])


class RateLimitMiddleware:
    """Answers 429 to a blocked address's credentialed requests; passes everything else on.

    Failures are recorded where authentication fails (the Authenticator and the token
    endpoint), not here, so a successful request costs this middleware one dict check.
    """

    def __init__(self, app: ASGIApp, limiter: FailedAuthLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.limiter.blocked and scope["type"] == "http":
            wait = self.limiter.retry_after(client_address(scope))
            if wait is not None and _presents_credentials(scope):
                response = problem(
                    Request(scope),
                    429,
                    f"too many failed authentication attempts; retry in {wait} s",
                    headers={"Retry-After": str(wait)},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
