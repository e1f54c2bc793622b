"""Which writes of a batch run as one statement (storage/merging.py): writes of one mergeable
kind with distinct keys share the slot of the first of them, in arrival order; a key seen
twice, and every other write, keeps a slot of its own."""

from __future__ import annotations

from tasktrack.storage.merging import merge_slots

# (kind, key): kind None is a write that never merges.
Write = tuple[str | None, str]


def slots(*writes: Write) -> list[list[Write]]:
    return merge_slots(list(writes), lambda w: w[0], lambda w: w[1])


def test_finishes_share_the_slot_of_the_first_and_the_rest_keep_their_order() -> None:
    a, b, c = ("finish", "a"), ("finish", "b"), ("finish", "c")
    fail, release = (None, "x"), (None, "y")
    assert slots(fail, a, release, b, c) == [[fail], [a, b, c], [release]]


def test_a_key_seen_twice_runs_alone_after_the_merged_slot() -> None:
    first, again, other = ("finish", "t"), ("finish", "t"), ("finish", "u")
    assert slots(first, again, other) == [[first, other], [again]]


def test_kinds_merge_apart_and_a_lone_write_is_a_slot_of_one() -> None:
    assert slots(("finish", "a"), ("stop", "a"), ("finish", "b")) == [
        [("finish", "a"), ("finish", "b")],
        [("stop", "a")],
    ]
    assert slots() == []
