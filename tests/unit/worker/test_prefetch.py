"""Claim-ahead's target: many short tasks are held, long ones never; claims come in batches."""

from __future__ import annotations

from tasktrack.worker.prefetch import Prefetch


def test_nothing_is_held_before_a_run_time_is_known() -> None:
    prefetch = Prefetch(concurrency=2, limit=16, seconds=0.1)
    assert (prefetch.ahead(), prefetch.capacity()) == (0, 2)
    assert prefetch.room(0) == 2 and prefetch.room(1) == 1 and prefetch.room(2) == 0


def test_short_runs_fill_up_to_the_limit_and_long_ones_hold_none() -> None:
    prefetch = Prefetch(concurrency=2, limit=16, seconds=0.1)
    prefetch.observe(0.001)  # 200 would start within 0.1 s: capped at 16
    assert prefetch.ahead() == 16 and prefetch.capacity() == 18
    prefetch.observe(10.0)  # one long run pulls the average far past the window at once
    assert prefetch.ahead() == 0


def test_runs_of_a_twentieth_of_the_window_hold_a_few() -> None:
    prefetch = Prefetch(concurrency=2, limit=16, seconds=0.1)
    prefetch.observe(0.05)
    assert prefetch.ahead() == 4  # two children start two each within 0.1 s


def test_room_opens_in_batches_of_half_the_target() -> None:
    prefetch = Prefetch(concurrency=2, limit=16, seconds=0.1)
    prefetch.observe(0.001)
    assert prefetch.room(18) == 0  # full
    assert prefetch.room(11) == 0  # 7 free: less than a batch of 8
    assert prefetch.room(10) == 8
    assert prefetch.room(0) == 18


def test_a_limit_of_zero_claims_only_for_idle_children() -> None:
    prefetch = Prefetch(concurrency=2, limit=0, seconds=0.1)
    prefetch.observe(0.001)
    assert prefetch.capacity() == 2 and prefetch.room(1) == 1


def test_a_stall_holds_nothing_until_a_run_ends() -> None:
    prefetch = Prefetch(concurrency=2, limit=16, seconds=0.1)
    prefetch.observe(0.001)
    prefetch.stall()
    assert prefetch.ahead() == 0 and prefetch.room(1) == 1
    prefetch.observe(30.0)  # the long run that took the children ends
    assert prefetch.ahead() == 0
