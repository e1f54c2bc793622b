"""VerifiedCredentials: kept under one identity epoch, never across a change, never past expiry."""

from __future__ import annotations

from tasktrack.domain.identity import Principal
from tasktrack.service.verified import VerifiedCredentials
from tests.conftest import FakeClock

ANN = Principal("u" * 24, "o" * 24, False, "bearer")


def test_an_entry_answers_only_under_the_epoch_it_was_verified_in(clock: FakeClock) -> None:
    cache = VerifiedCredentials(clock)
    assert cache.get("token", (1, 0)) is None
    cache.put("token", ANN, (1, 0))
    assert cache.get("token", (1, 0)) == ANN
    assert cache.get("token", (2, 0)) is None  # the identity data changed: all forgotten
    assert cache.get("token", (1, 0)) is None


def test_an_entry_verified_before_a_change_is_not_kept(clock: FakeClock) -> None:
    cache = VerifiedCredentials(clock)
    cache.get("token", (1, 0))  # request A reads epoch 1, then verifies slowly...
    cache.get("other", (1, 1))  # ...while a revocation moves the epoch
    cache.put("token", ANN, (1, 0))  # A's result may predate the revocation: dropped
    assert cache.get("token", (1, 1)) is None


def test_no_epoch_means_no_caching(clock: FakeClock) -> None:
    cache = VerifiedCredentials(clock)
    cache.get("token", None)
    cache.put("token", ANN, None)
    assert cache.get("token", None) is None


def test_an_entry_ends_with_its_credential(clock: FakeClock) -> None:
    cache = VerifiedCredentials(clock)
    cache.get("token", (1, 0))
    cache.put("token", ANN, (1, 0), expires_at=clock() + 10)
    clock.advance(9.9)
    assert cache.get("token", (1, 0)) == ANN
    clock.advance(0.1)
    assert cache.get("token", (1, 0)) is None


def test_the_cache_is_bounded(clock: FakeClock) -> None:
    cache = VerifiedCredentials(clock, max_entries=3)
    cache.get("a", (1, 0))
    for name in "abcd":
        cache.put(name, ANN, (1, 0))
    assert len(cache._entries) <= 3
    assert cache.get("d", (1, 0)) == ANN
