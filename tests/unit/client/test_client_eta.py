"""The ETA from the recent step rate (issue 16)."""

from __future__ import annotations

import pytest

from tasktrack.client.eta import Eta, format_eta
from tests.conftest import FakeClock


def test_the_rate_of_recent_steps_gives_the_time_left_and_counts_down() -> None:
    clock = FakeClock(1000.0)
    eta = Eta(clock)
    eta.observe(0, 10)
    assert eta.remaining() is None  # no step yet
    clock.advance(2)
    eta.observe(2, 10)  # 1 step/s
    assert eta.remaining() == pytest.approx(8.0)
    clock.advance(3)  # no news for 3 s: the estimate counts down
    assert eta.remaining() == pytest.approx(5.0)


def test_the_attempt_start_stands_in_before_a_second_observation() -> None:
    clock = FakeClock(1000.0)
    eta = Eta(clock)
    eta.observe(5, 20, started_at=990.0)  # 5 steps in 10 s
    assert eta.remaining() == pytest.approx(30.0)


def test_old_observations_leave_the_window_so_a_slowdown_shows() -> None:
    clock = FakeClock(0.0)
    eta = Eta(clock, window=30)
    for step in range(0, 50, 10):  # 10 steps/s for 4 s
        eta.observe(step, 100)
        clock.advance(1)
    clock.advance(60)
    eta.observe(41, 100)  # then one step in a minute
    clock.advance(60)
    eta.observe(42, 100)
    assert eta.remaining() == pytest.approx(58 * 60)


def test_a_restarted_attempt_starts_a_new_estimate() -> None:
    clock = FakeClock(0.0)
    eta = Eta(clock)
    eta.observe(5, 10)
    clock.advance(1)
    eta.observe(0, 10)
    assert eta.remaining() is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "eta ?"), (0.4, "eta 0:00"), (42, "eta 0:42"), (3600, "eta 1:00:00")],
)
def test_format(seconds: float | None, text: str) -> None:
    assert format_eta(seconds) == text
