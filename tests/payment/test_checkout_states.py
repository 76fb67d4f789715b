"""The checkout state machine: any order of provider events credits at most once, claws back
at most once and only what was credited, and never downgrades a paid checkout."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from koepon.payment.checkout.states import EVENT_KINDS, STATUSES, EventKind, transition


def run(events: list[EventKind]) -> tuple[str, int, int]:
    status, credits, claws = "open", 0, 0
    for event in events:
        move = transition(status, event, credited=credits > 0, clawed_back=claws > 0)  # type: ignore[arg-type]
        credits += move.credit
        claws += move.claw_back
        status = move.status
    return status, credits, claws


@pytest.mark.parametrize(
    ("events", "final"),
    [
        (["succeeded"], ("succeeded", 1, 0)),
        (["pending", "succeeded"], ("succeeded", 1, 0)),
        (["succeeded", "pending"], ("succeeded", 1, 0)),
        (["pending", "expired"], ("expired", 0, 0)),
        (["failed", "succeeded"], ("succeeded", 1, 0)),
        (["expired", "succeeded"], ("succeeded", 1, 0)),
        (["succeeded", "failed", "expired"], ("succeeded", 1, 0)),
        (["succeeded", "refunded"], ("refunded", 1, 1)),
        (["refunded", "succeeded"], ("refunded", 0, 0)),
        (["succeeded", "dispute_opened", "refunded"], ("charged_back", 1, 1)),
        (["succeeded", "succeeded", "succeeded"], ("succeeded", 1, 0)),
        (["failed", "pending"], ("failed", 0, 0)),  # a failed checkout is over
        (["expired", "pending", "succeeded"], ("succeeded", 1, 0)),  # money still wins
        (["succeeded", "dispute_closed"], ("succeeded", 1, 0)),
        (["cancelled"], ("cancelled", 0, 0)),
        (["cancelled", "pending", "failed", "expired"], ("cancelled", 0, 0)),  # over
        (["cancelled", "succeeded"], ("succeeded", 1, 0)),  # money still wins (re-checked)
        (["pending", "cancelled"], ("pending", 0, 0)),  # a konbini slip is paid or expires
        (["succeeded", "cancelled"], ("succeeded", 1, 0)),
        (["failed", "cancelled"], ("failed", 0, 0)),
    ],
)
def test_event_sequences(events: list[EventKind], final: tuple[str, int, int]) -> None:
    assert run(events) == final


def test_every_status_and_event_has_a_defined_transition() -> None:
    for status, event in itertools.product(STATUSES, EVENT_KINDS):
        for credited, clawed in itertools.product([False, True], repeat=2):
            move = transition(status, event, credited=credited, clawed_back=clawed)
            assert move.status in STATUSES
            assert not (move.credit and credited)
            assert not (move.claw_back and (clawed or not credited))


@given(st.lists(st.sampled_from(EVENT_KINDS), max_size=12))
def test_any_order_credits_at_most_once_and_claws_back_only_what_was_credited(
    events: list[EventKind],
) -> None:
    status, credits, claws = run(events)
    assert credits <= 1 and claws <= credits
    if "succeeded" in events and status == "succeeded":
        assert credits == 1
    if status in ("refunded", "charged_back"):
        assert claws == credits


@given(st.permutations(["pending", "succeeded", "failed", "expired"]))
def test_a_paid_checkout_ends_paid_whatever_the_order(events: list[EventKind]) -> None:
    assert run(events) == ("succeeded", 1, 0)
