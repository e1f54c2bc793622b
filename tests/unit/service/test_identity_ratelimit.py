"""The failed-authentication limiter, alone on a fake clock and in front of a tiny app."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tasktrack.api import ratelimit
from tasktrack.api.problems import from_exception
from tasktrack.api.ratelimit import FailedAuthLimiter, RateLimitMiddleware, RateLimitPolicy
from tasktrack.api.security import Authenticator
from tasktrack.config import Settings
from tasktrack.service.identity import IdentityService
from tasktrack.storage.memory_identity import MemoryIdentityStore
from tests.conftest import FakeClock


def limiter(clock: FakeClock, per_minute: int = 6) -> FailedAuthLimiter:
    return FailedAuthLimiter(RateLimitPolicy(per_minute), clock)


def test_an_address_is_blocked_after_its_budget_of_failures(clock: FakeClock) -> None:
    lim = limiter(clock)
    for _ in range(5):
        lim.record_failure("10.0.0.1")
        assert lim.retry_after("10.0.0.1") is None
    lim.record_failure("10.0.0.1")
    assert lim.retry_after("10.0.0.1") == 10  # one failure back per 60 s / 6
    assert lim.retry_after("10.0.0.2") is None  # others are untouched


def test_the_budget_refills_over_time(clock: FakeClock) -> None:
    lim = limiter(clock)
    for _ in range(6):
        lim.record_failure("a")
    clock.advance(9.5)
    assert lim.retry_after("a") == 1
    clock.advance(0.5)
    assert lim.retry_after("a") is None
    assert not lim.blocked
    lim.record_failure("a")  # the one failure that refilled is spent at once
    assert lim.retry_after("a") == 10


def test_slow_failures_never_block(clock: FakeClock) -> None:
    lim = limiter(clock)
    for _ in range(100):
        lim.record_failure("a")
        clock.advance(10)
        assert lim.retry_after("a") is None


def test_zero_turns_the_limiter_off(clock: FakeClock) -> None:
    lim = limiter(clock, per_minute=0)
    for _ in range(100):
        lim.record_failure("a")
    assert lim.retry_after("a") is None


def test_memory_stays_bounded(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "MAX_TRACKED", 50)
    lim = limiter(clock)
    for i in range(1000):
        lim.record_failure(f"10.0.{i // 256}.{i % 256}")
    assert len(lim._buckets) <= 101


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


async def test_a_blocked_address_gets_429_even_with_a_good_key(clock: FakeClock) -> None:
    identity = IdentityService(MemoryIdentityStore())
    _, user = await identity.ensure_default()
    _, good = await identity.create_api_key(user.id)
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
    app.add_middleware(RateLimitMiddleware, limiter=lim)
    transport = httpx.ASGITransport(app=app, client=("10.1.1.1", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for _ in range(10):  # successes spend nothing
            assert (await client.get("/p", headers={"X-API-Key": good})).status_code == 200
        assert (await client.get("/p")).status_code == 401  # no credentials: not a guess
        for _ in range(3):
            assert (await client.get("/p", params={"api_key": "tt_bad"})).status_code == 401
        blocked = await client.get("/p", headers={"X-API-Key": good})
        assert blocked.status_code == 429
        assert blocked.headers["Retry-After"] == "20"
        assert blocked.json()["code"] == 429
        assert (await client.get("/health")).status_code == 200  # no credentials, not blocked
        clock.advance(20)
        assert (await client.get("/p", headers={"X-API-Key": good})).status_code == 200
