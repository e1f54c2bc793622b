"""Durations as the retention settings and ``tasks prune --older-than`` accept them."""

from __future__ import annotations

import pytest

from tasktrack.config import Settings
from tasktrack.domain.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90),
        ("0", 0),
        ("1.5", 1.5),
        ("45s", 45),
        ("30m", 1800),
        ("12h", 43200),
        ("7d", 604800),
        ("2w", 1209600),
        (" 7D ", 604800),
        ("0.5h", 1800),
    ],
)
def test_accepted_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "d", "-1", "7 days", "1h30m", "1e3", "inf", "nan", "7y"])
def test_refused_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_format_picks_the_largest_whole_unit() -> None:
    assert [format_duration(s) for s in (0, 604800, 86400 * 30, 3600, 90, 1.5)] == [
        "0",
        "1w",
        "30d",
        "1h",
        "90s",
        "1.5s",
    ]


def test_retention_settings_default_to_production_values_and_take_durations() -> None:
    defaults = Settings.from_env({})
    assert (defaults.retention_done, defaults.retention_error, defaults.retention_cancelled) == (
        7 * 86400,
        30 * 86400,
        7 * 86400,
    )
    assert (defaults.prune_interval, defaults.prune_batch) == (60, 200)
    env = {
        "TASKTRACK_RETENTION_DONE": "12h",
        "TASKTRACK_RETENTION_ERROR": "0",
        "TASKTRACK_RETENTION_CANCELLED": "3600",
        "TASKTRACK_PRUNE_INTERVAL": "5m",
        "TASKTRACK_PRUNE_BATCH": "100",
    }
    settings = Settings.from_env(env)
    assert (settings.retention_done, settings.retention_error, settings.retention_cancelled) == (
        43200,
        0,
        3600,
    )
    assert (settings.prune_interval, settings.prune_batch) == (300, 100)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TASKTRACK_RETENTION_DONE", "7days"),
        ("TASKTRACK_PRUNE_INTERVAL", "0"),
        ("TASKTRACK_PRUNE_BATCH", "0"),
    ],
)
def test_bad_retention_settings_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})
