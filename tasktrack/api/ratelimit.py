"""Limits on guessing credentials over HTTP: failed attempts per address *and* per account.

Three token buckets, refilled at ``failures_per_minute`` a minute (docs/identity.md,
"Rate limiting of failed authentication", says why this scheme):

* **pair** (address, account): ``failures_per_minute`` tokens. Guessing one account from one
  address stops here, and the right credential for that account then waits too (otherwise a
  right guess would be told apart from a wrong one).
* **address**: ``spread`` times as many, over all accounts: bounds spraying many accounts.
* **account**: ``spread`` times as many, over all addresses: bounds a distributed guess.

An *account* is what the credential names: the user's e-mail, the OAuth client id, the API
key id (``tt_<id>_…``), or one shared name per address for what names nothing (a bearer token,
a malformed key). A neighbour behind the same NAT who guesses account A therefore spends A's
pair bucket and a fifth of the address's: the owner of account B still signs in.

Slow, human-chosen secrets (passwords, client secrets: argon2) *reserve* a token from every
bucket before they are verified and give it back on success, so however many arrive at once,
at most the budget is verified; :meth:`FailedAuthLimiter.in_flight` also bounds how many of
one address's run at the same time. Cheap checks of 256-bit secrets (API keys, bearer tokens)
are checked before and charged after: reserving would turn a burst of *correct* concurrent
requests into 429s, and racing them gains an attacker nothing against 256 random bits.

State is per process (dicts): with several API processes each limits on its own. The address
is the ASGI ``client``, which uvicorn takes from ``X-Forwarded-For`` only for connections from
``TASKTRACK_FORWARDED_ALLOW_IPS``, so a direct client cannot pick its own address.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from tasktrack.api.problems import from_exception
from tasktrack.config import Settings
from tasktrack.errors import TooManyAttempts

#: Buckets kept before full ones are dropped; beyond twice this the oldest go too.
MAX_TRACKED = 10_000
TOKEN_PATH_PREFIX = "/auth/oauth2/"
#: Slow verifications one address may have running at once; more get 429 at once.
MAX_IN_FLIGHT_PER_ADDRESS = 4
#: The account of credentials that name none (bearer tokens, malformed keys).
UNNAMED = "-"


@dataclass(frozen=True, slots=True)
class RateLimitPolicy:
    """The limiter's knobs; the server builds it from ``Settings.auth_failures_per_minute``
    (``TASKTRACK_AUTH_FAILURES_PER_MINUTE``), whose default is also this one's.

    Args:
    failures_per_minute: failed attempts one address may make against one account per minute
        (and in one burst); 0 turns the limiter off.
    spread: how many accounts' worth an address, and how many addresses' worth an account,
        may fail per minute.
    """

    failures_per_minute: int = Settings.auth_failures_per_minute
    spread: int = 5


def client_address(scope: Scope) -> str:
    """The request's client address (uvicorn has applied trusted proxies' headers)."""
    client = scope.get("client")
    return str(client[0]) if client else "-"


class _Buckets:
    """Token buckets by key; a key without an entry is full, so idle keys cost nothing."""

    def __init__(self, capacity: float, rate: float) -> None:
        self.capacity = capacity
        self.rate = rate
        #: key -> (tokens left, when counted); dict order = last change.
        self.levels: dict[object, tuple[float, float]] = {}

    def tokens(self, key: object, now: float) -> float:
        tokens, at = self.levels.get(key, (self.capacity, now))
        return min(self.capacity, tokens + (now - at) * self.rate)

    def wait(self, key: object, now: float) -> float:
        """Seconds until ``key`` has a whole token again (0: it has one)."""
        tokens = self.tokens(key, now)
        if tokens >= self.capacity:
            self.levels.pop(key, None)  # refilled: forget it, so `tracking` can end
        return (1.0 - tokens) / self.rate if tokens < 1.0 else 0.0

    def add(self, key: object, now: float, delta: float) -> None:
        tokens = self.tokens(key, now) + delta
        self.levels.pop(key, None)
        if tokens < self.capacity:
            self.levels[key] = (tokens, now)  # re-inserted last: oldest first when pruning

    def prune(self, now: float) -> None:
        for key in [k for k in self.levels if self.tokens(k, now) >= self.capacity]:
            del self.levels[key]
        excess = len(self.levels) - 2 * MAX_TRACKED
        for key in list(self.levels)[: max(0, excess)]:
            del self.levels[key]


@dataclass(frozen=True, slots=True)
class Reservation:
    """Tokens taken before a slow check; :meth:`FailedAuthLimiter.refund` gives them back."""

    address: str
    accounts: tuple[str, ...]


class FailedAuthLimiter:
    """Failed-authentication budgets per address, per account and per (address, account)."""

    def __init__(
        self, policy: RateLimitPolicy | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.policy = policy or RateLimitPolicy()
        self.clock = clock
        per_pair = float(self.policy.failures_per_minute)
        wide = per_pair * self.policy.spread
        self.on = per_pair > 0
        self._pair = _Buckets(per_pair, per_pair / 60.0)
        self._address = _Buckets(wide, per_pair / 60.0 * self.policy.spread)
        self._account = _Buckets(wide, per_pair / 60.0 * self.policy.spread)
        self._in_flight: dict[str, int] = {}

    @property
    def tracking(self) -> bool:
        """Whether any bucket is below full: when not, nobody can be limited."""
        return bool(self._address.levels)

    def retry_after(self, address: str, accounts: Sequence[str] = ()) -> int | None:
        """Seconds until ``address`` may try ``accounts`` again, or None if it may now."""
        if not self.on:
            return None
        now = self.clock()
        waits = [bucket.wait(key, now) for bucket, key in self._keys(address, accounts)]
        longest = max(waits)
        return max(1, math.ceil(longest)) if longest > 0 else None

    def check(self, address: str, accounts: Sequence[str] = ()) -> None:
        """Raise TooManyAttempts if ``address`` may not try ``accounts`` now."""
        wait = self.retry_after(address, accounts)
        if wait is not None:
            raise TooManyAttempts(wait)

    def record_failure(self, address: str, account: str = UNNAMED) -> None:
        """Spend one token of each of the attempt's buckets (after a cheap check failed)."""
        self._spend(address, (account,), -1.0)

    def reserve(self, address: str, accounts: Sequence[str]) -> Reservation:
        """Take a token from each bucket before a slow check, or raise TooManyAttempts.

        Check and take happen with no ``await`` between them, so concurrent requests cannot
        all pass the check before any of them is counted.
        """
        self.check(address, accounts)
        self._spend(address, accounts, -1.0)
        return Reservation(address, tuple(accounts))

    def refund(self, reservation: Reservation) -> None:
        """Give a reservation back: the credentials were right (or never checked)."""
        self._spend(reservation.address, reservation.accounts, 1.0)

    @contextlib.contextmanager
    def in_flight(self, address: str) -> Iterator[None]:
        """Hold one of ``address``'s slow-check slots, or raise TooManyAttempts (retry in 1 s)."""
        running = self._in_flight.get(address, 0)
        if running >= MAX_IN_FLIGHT_PER_ADDRESS:
            raise TooManyAttempts(1, "too many sign-ins from this address at once; retry in 1 s")
        self._in_flight[address] = running + 1
        try:
            yield
        finally:
            left = self._in_flight.pop(address) - 1
            if left:
                self._in_flight[address] = left

    def _keys(self, address: str, accounts: Sequence[str]) -> list[tuple[_Buckets, object]]:
        keys: list[tuple[_Buckets, object]] = [(self._address, address)]
        for account in accounts:
            keys += [(self._pair, (address, account))]
            if account != UNNAMED:  # shared names are per address: no account of their own
                keys += [(self._account, account)]
        return keys

    def _spend(self, address: str, accounts: Sequence[str], delta: float) -> None:
        if not self.on:
            return
        now = self.clock()
        for bucket, key in self._keys(address, accounts):
            bucket.add(key, now, delta)
        if len(self._pair.levels) > MAX_TRACKED:
            for bucket in (self._pair, self._address, self._account):
                bucket.prune(now)


def api_key_account(key: str) -> str:
    """The account an API key names: its id (``tt_<24 hex>_…``), or UNNAMED if malformed."""
    key_id = key[3:27]
    if key.startswith("tt_") and len(key_id) == 24 and key[27:28] == "_":
        return "key:" + key_id
    return UNNAMED


def _header_accounts(scope: Scope) -> list[str] | None:
    """The accounts a request's header or query credentials name; None if it carries none."""
    for name, value in scope["headers"]:
        if name == b"x-api-key":
            return [api_key_account(value.decode("latin-1"))]
    if b"api_key=" in scope.get("query_string", b""):
        query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        return [api_key_account(query.get("api_key", ""))]
    if any(name == b"authorization" for name, _ in scope["headers"]):
        return [UNNAMED]
    return None


def _accounts_to_check(scope: Scope) -> list[str] | None:
    """What to check before routing: the token endpoint's accounts are in its body, so only
    its address is checked here (the endpoint checks the rest)."""
    if scope["path"].startswith(TOKEN_PATH_PREFIX):
        return []
    return _header_accounts(scope)


def refusal(limiter: FailedAuthLimiter, scope: Scope) -> Response | None:
    """The 429 for a credentialed request whose address or account is out of budget, if any
    (:class:`~tasktrack.api.edge.EdgeMiddleware` sends it instead of routing the request).

    Failures are recorded where authentication fails (the Authenticator and the token
    endpoint), not here, so while nobody is being limited this costs one dict check.
    """
    if not limiter.tracking:
        return None
    accounts = _accounts_to_check(scope)
    wait = None if accounts is None else limiter.retry_after(client_address(scope), accounts)
    return None if wait is None else from_exception(Request(scope), TooManyAttempts(wait))
