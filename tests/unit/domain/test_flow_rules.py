"""The admission rules of a limited claim (issue 14, point 4)."""

from __future__ import annotations

import pytest

from tasktrack.domain.flow import Limits, Rate, Usage, admit, limited, plan, room

CAPS = {
    "capped": Limits(concurrency=3),
    "keyed": Limits(per_key=2),
    "rated": Limits(rate=Rate(5, 60.0)),
    "both": Limits(concurrency=4, rate=Rate(2, 1.0)),
}


def usage(**running: int) -> Usage:
    u = Usage()
    for name, n in running.items():
        u.add_running(name, None, n)
    return u


def test_only_types_with_a_cap_make_a_claim_limited() -> None:
    caps = {**CAPS, "free": Limits()}
    assert limited(["capped", "free", "plain"], caps) == {"capped": CAPS["capped"]}
    assert limited(["capped"], None) == {} and limited(["capped"], {}) == {}


def test_room_is_the_tightest_of_cap_and_rate_and_never_negative() -> None:
    u = usage(capped=1, both=1)
    u.starts = {"rated": 4, "both": 1}
    assert room(CAPS["capped"], "capped", u) == 2
    assert room(CAPS["rated"], "rated", u) == 1
    assert room(CAPS["both"], "both", u) == 1  # rate: 2 - 1 < cap: 4 - 1
    assert room(CAPS["capped"], "capped", usage(capped=5)) == 0
    assert room(CAPS["keyed"], "keyed", u) is None  # a per-key cap only


def test_plan_drops_full_types_and_blocks_full_keys() -> None:
    u = usage(capped=3)
    u.add_running("keyed", "acme", 2)
    u.add_running("keyed", "globex", 1)
    chosen = plan(["capped", "keyed", "plain"], CAPS, u)
    assert chosen.names == ["keyed", "plain"]
    assert chosen.blocked_keys == [("keyed", "acme")]


def test_admit_keeps_claim_order_and_counts_what_it_admitted() -> None:
    u = Usage()
    u.add_running("keyed", "acme", 1)
    candidates = [
        ("1", "capped", None),
        ("2", "keyed", "acme"),
        ("3", "keyed", "acme"),  # acme had one running: the second admitted fills it
        ("4", "capped", None),
        ("5", "capped", None),
        ("6", "capped", None),  # beyond the cap of 3
        ("7", "plain", None),
        ("8", "keyed", None),  # no key: only the type's caps (none) apply
    ]
    assert admit(candidates, CAPS, u, want=10) == ["1", "2", "4", "5", "7", "8"]
    assert admit(candidates, CAPS, u, want=2) == ["1", "2"]


def test_admit_respects_the_rate_window_count() -> None:
    u = Usage(starts={"rated": 3})
    candidates = [(str(i), "rated", None) for i in range(5)]
    assert admit(candidates, CAPS, u, want=5) == ["0", "1"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: Limits(concurrency=0),
        lambda: Limits(per_key=0),
        lambda: Rate(0, 1.0),
        lambda: Rate(1, 0.0),
    ],
)
def test_nonsense_caps_are_refused(make) -> None:
    with pytest.raises(ValueError):
        make()
