"""Every allowed and every refused lifecycle transition."""

from __future__ import annotations

import itertools

import pytest

from tasktrack.domain.lifecycle import TERMINAL, TRANSITIONS, Status, is_terminal, transition
from tasktrack.errors import InvalidTransition

ALLOWED = {
    (Status.QUEUED, "claim"): Status.ACTIVE,
    (Status.ACTIVE, "finish"): Status.DONE,
    (Status.CANCELLING, "finish"): Status.DONE,
    (Status.ACTIVE, "fail"): Status.ERROR,
    (Status.CANCELLING, "fail"): Status.ERROR,
    (Status.ACTIVE, "retry"): Status.QUEUED,
    (Status.CANCELLING, "retry"): Status.CANCELLED,
    (Status.QUEUED, "cancel"): Status.CANCELLED,
    (Status.ACTIVE, "cancel"): Status.CANCELLING,
    (Status.CANCELLING, "stop"): Status.CANCELLED,
    (Status.ACTIVE, "release"): Status.QUEUED,
    (Status.CANCELLING, "release"): Status.CANCELLED,
    (Status.CANCELLING, "expire"): Status.CANCELLED,
    (Status.ACTIVE, "expire"): Status.QUEUED,
    (Status.ACTIVE, "lose"): Status.ERROR,
}
ALL = list(itertools.product(Status, TRANSITIONS))


@pytest.mark.parametrize(("status", "verb"), list(ALLOWED))
def test_allowed_transition(status: Status, verb: str) -> None:
    assert transition(status, verb) is ALLOWED[(status, verb)]


@pytest.mark.parametrize(("status", "verb"), [p for p in ALL if p not in ALLOWED])
def test_refused_transition_raises(status: Status, verb: str) -> None:
    with pytest.raises(InvalidTransition, match=f"cannot {verb} a task that is {status.value}"):
        transition(status, verb)


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_nothing_leaves_a_terminal_status(status: Status) -> None:
    assert is_terminal(status)
    for verb in TRANSITIONS:
        with pytest.raises(InvalidTransition):
            transition(status, verb)


def test_unknown_verb_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown lifecycle verb"):
        transition(Status.QUEUED, "teleport")


def test_wire_values_are_the_contracts() -> None:
    assert [s.value for s in Status] == [
        "queued",
        "active",
        "done",
        "cancelling",
        "cancelled",
        "error",
    ]
