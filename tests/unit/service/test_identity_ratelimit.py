"""The failed-authentication limiter, alone on a fake clock and in front of a tiny app."""

from __future__ import annotations

import contextlib

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tasktrack.api import ratelimit
from tasktrack.api.edge import EdgeMiddleware
from tasktrack.api.problems import from_exception
from tasktrack.api.ratelimit import FailedAuthLimiter, RateLimitPolicy
from tasktrack.api.security import Authenticator
from tasktrack.config import Settings
from tasktrack.errors import Overloaded, TooManyAttempts
from tasktrack.service.identity import IdentityService
from tasktrack.storage.memory_identity import MemoryIdentityStore
from tests.conftest import FakeClock


def limiter(clock: FakeClock, per_minute: int = 6) -> FailedAuthLimiter:
    return FailedAuthLimiter(RateLimitPolicy(per_minute), clock)


A = "user:a@example.test"
B = "user:b@example.test"


def test_an_account_is_blocked_from_an_address_after_its_budget(clock: FakeClock) -> None:
    lim = limiter(clock)
    for _ in range(5):
        lim.record_failure("10.0.0.1", A)
        assert lim.retry_after("10.0.0.1", [A]) is None
    lim.record_failure("10.0.0.1", A)
    assert lim.retry_after("10.0.0.1", [A]) == 10  # one failure back per 60 s / 6
    # The owner of another account at the same address, and the account's owner elsewhere,
    # are not punished for the guesser.
    assert lim.retry_after("10.0.0.1", [B]) is None
    assert lim.retry_after("10.0.0.1") is None
    assert lim.retry_after("10.0.0.2", [A]) is None


def test_the_budget_refills_over_time(clock: FakeClock) -> None:
    lim = limiter(clock)
    for _ in range(6):
        lim.record_failure("a", A)
    clock.advance(9.5)
    assert lim.retry_after("a", [A]) == 1
    clock.advance(0.5)
    assert lim.retry_after("a", [A]) is None
    lim.record_failure("a", A)  # the one failure that refilled is spent at once
    assert lim.retry_after("a", [A]) == 10


def test_slow_failures_never_block(clock: FakeClock) -> None:
    lim = limiter(clock)
    for _ in range(100):
        lim.record_failure("a", A)
        clock.advance(10)
        assert lim.retry_after("a", [A]) is None


def test_spraying_many_accounts_is_bounded_per_address(clock: FakeClock) -> None:
    lim = limiter(clock)  # 6 per pair, 5 x 6 = 30 per address
    for i in range(30):
        assert lim.retry_after("a", [f"user:{i}"]) is None
        lim.record_failure("a", f"user:{i}")
    assert lim.retry_after("a", ["user:fresh"]) == 2  # 60 s / 30
    assert lim.retry_after("a") == 2
    assert lim.retry_after("b", ["user:fresh"]) is None


def test_guessing_one_account_from_many_addresses_is_bounded(clock: FakeClock) -> None:
    lim = limiter(clock)
    for i in range(30):
        lim.record_failure(f"10.0.0.{i}", A)
    assert lim.retry_after("10.9.9.9", [A]) == 2  # the account's own ceiling
    assert lim.retry_after("10.9.9.9", [B]) is None


def test_unnamed_credentials_share_one_budget_per_address(clock: FakeClock) -> None:
    lim = limiter(clock)
    for i in range(6):
        lim.record_failure(f"10.0.0.{i % 2}", ratelimit.UNNAMED)
    assert lim.retry_after("10.0.0.0", [ratelimit.UNNAMED]) is None  # 3 each: no account
    for _ in range(3):
        lim.record_failure("10.0.0.0", ratelimit.UNNAMED)
    assert lim.retry_after("10.0.0.0", [ratelimit.UNNAMED]) == 10


def test_reserving_counts_an_attempt_before_it_is_checked(clock: FakeClock) -> None:
    lim = limiter(clock)
    held = [lim.reserve("a", [A]) for _ in range(6)]  # six slow checks started, none ended
    with pytest.raises(TooManyAttempts) as refused:
        lim.reserve("a", [A])
    assert refused.value.retry_after == 10
    lim.refund(held.pop())  # one of them was right: its attempt is given back
    lim.reserve("a", [A])
    assert lim.retry_after("a", [B]) is None


def test_refunds_keep_authenticated_traffic_free(clock: FakeClock) -> None:
    lim = limiter(clock)
    for _ in range(1000):
        lim.refund(lim.reserve("a", [A]))
    assert not lim.tracking


def test_slow_checks_in_flight_are_bounded_per_address(clock: FakeClock) -> None:
    lim = limiter(clock)
    with contextlib.ExitStack() as stack:
        for _ in range(ratelimit.MAX_IN_FLIGHT_PER_ADDRESS):
            stack.enter_context(lim.in_flight("a"))
        with pytest.raises(TooManyAttempts) as refused, lim.in_flight("a"):
            pass
        assert refused.value.retry_after == 1
        with lim.in_flight("b"):
            pass
    with lim.in_flight("a"):
        pass


def test_zero_turns_the_limiter_off(clock: FakeClock) -> None:
    lim = limiter(clock, per_minute=0)
    for _ in range(100):
        lim.record_failure("a", A)
        lim.reserve("a", [A])
    assert lim.retry_after("a", [A]) is None


def test_memory_stays_bounded(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "MAX_TRACKED", 50)
    lim = limiter(clock)
    for i in range(1000):
        lim.record_failure(f"10.0.{i // 256}.{i % 256}", f"user:{i}")
    assert len(lim._pair.levels) <= 101
    assert len(lim._address.levels) <= 101
    assert len(lim._account.levels) <= 101


def test_the_limit_is_a_setting() -> None:
    # Read with every other setting (tests/unit/config); the policy itself reads nothing.
    assert (
        RateLimitPolicy()
        == RateLimitPolicy(Settings().auth_failures_per_minute)
        == (RateLimitPolicy(20))
    )
    env = {"TASKTRACK_AUTH_FAILURES_PER_MINUTE": "0"}
    assert Settings.from_env(env).auth_failures_per_minute == 0
    for bad in ("-1", "many"):
        with pytest.raises(ValueError, match="TASKTRACK_AUTH_FAILURES_PER_MINUTE"):
            Settings.from_env({"TASKTRACK_AUTH_FAILURES_PER_MINUTE": bad})


async def test_a_blocked_key_gets_429_even_when_right_but_other_keys_pass(
    clock: FakeClock,
) -> None:
    identity = IdentityService(MemoryIdentityStore())
    _, user = await identity.ensure_default()
    _, good = await identity.create_api_key(user.id)
    _, other = await identity.create_api_key(user.id)
    lim = limiter(clock, per_minute=3)
    authenticate = Authenticator(identity, limiter=lim)

    async def protected(request: Request) -> Response:
        try:
            principal = await authenticate(request)
        except Exception as exc:
            return from_exception(request, exc)
        return PlainTextResponse(principal.user_id)

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/p", protected), Route("/health", health)])
    app.add_middleware(EdgeMiddleware, limiter=lim)
    transport = httpx.ASGITransport(app=app, client=("10.1.1.1", 1234))
    wrong = good[:28] + ("A" if good[28] != "A" else "B") + good[29:]  # same id, wrong secret
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for _ in range(10):  # successes spend nothing
            assert (await client.get("/p", headers={"X-API-Key": good})).status_code == 200
        assert (await client.get("/p")).status_code == 401  # no credentials: not a guess
        for _ in range(3):  # malformed keys name no key: they do not block a real one
            assert (await client.get("/p", params={"api_key": "tt_bad"})).status_code == 401
        assert (await client.get("/p", headers={"X-API-Key": good})).status_code == 200
        for _ in range(3):
            assert (await client.get("/p", params={"api_key": wrong})).status_code == 401
        blocked = await client.get("/p", headers={"X-API-Key": good})
        assert blocked.status_code == 429
        assert blocked.headers["Retry-After"] == "20"
        assert blocked.json()["code"] == 429
        assert (await client.get("/p", params={"api_key": good})).status_code == 429
        assert (await client.get("/p", params={"api_key": "tt_bad"})).status_code == 429
        assert (await client.get("/p", headers={"X-API-Key": other})).status_code == 200
        assert (await client.get("/health")).status_code == 200  # no credentials, not blocked
        clock.advance(20)
        assert (await client.get("/p", headers={"X-API-Key": good})).status_code == 200


def test_refusals_are_problems_with_retry_after() -> None:
    request = Request({"type": "http", "method": "POST", "path": "/t", "headers": []})
    limited = from_exception(request, TooManyAttempts(7))
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "7")
    busy = from_exception(request, Overloaded())
    assert (busy.status_code, busy.headers["Retry-After"]) == (503, "1")
    assert busy.headers["content-type"] == "application/problem+json"


def test_tracking_ends_once_budgets_have_refilled(clock: FakeClock) -> None:
    lim = limiter(clock)
    lim.record_failure("a", A)
    assert lim.tracking
    clock.advance(60)
    assert lim.retry_after("a", [A]) is None
    assert not lim.tracking  # the request path is back to one empty-dict check
