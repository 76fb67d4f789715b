"""Self-set limits, COMPLIANCE A3: lowering at once, raising after seven days, cooling-off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from koepon.auth.limits import RAISE_DELAY, Cap, cooling_off_active, cooling_off_end

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
caps = st.one_of(st.none(), st.integers(min_value=0, max_value=10**8))
offsets = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60))


def size(cap: int | None) -> float:
    return float("inf") if cap is None else cap


def test_lowering_takes_effect_at_once() -> None:
    cap = Cap(current=10_000).change(5_000, NOW)
    assert cap == Cap(current=5_000)
    assert Cap().change(5_000, NOW).in_force(NOW) == 5_000  # from "no cap" is a lowering


def test_raising_waits_seven_days_from_the_request() -> None:
    cap = Cap(current=5_000).change(20_000, NOW)
    assert cap.in_force(NOW) == 5_000
    assert cap.in_force(NOW + RAISE_DELAY - timedelta(microseconds=1)) == 5_000
    assert cap.in_force(NOW + RAISE_DELAY) == 20_000
    assert RAISE_DELAY == timedelta(days=7)


def test_removing_a_cap_is_a_raise() -> None:
    cap = Cap(current=5_000).change(None, NOW)
    assert cap.in_force(NOW + timedelta(days=6)) == 5_000
    assert cap.in_force(NOW + timedelta(days=7)) is None


def test_a_new_raise_restarts_the_wait() -> None:
    first = Cap(current=1_000).change(2_000, NOW)
    second = first.change(3_000, NOW + timedelta(days=6))
    assert second.in_force(NOW + timedelta(days=8)) == 1_000
    assert second.in_force(NOW + timedelta(days=13)) == 3_000


def test_lowering_while_a_raise_waits_cancels_it() -> None:
    cap = Cap(current=1_000).change(9_000, NOW).change(500, NOW + timedelta(days=1))
    assert cap == Cap(current=500)


def test_negative_caps_are_refused() -> None:
    with pytest.raises(ValueError):
        Cap().change(-1, NOW)


@given(caps, caps, caps, offsets, offsets)
def test_the_cap_in_force_never_rises_within_seven_days_of_a_request(
    start: int | None, first: int | None, requested: int | None, gap: timedelta, later: timedelta
) -> None:
    cap = Cap(current=start).change(first, NOW)
    asked_at = NOW + gap
    before = cap.in_force(asked_at)
    changed = cap.change(requested, asked_at)
    in_force_now = changed.in_force(asked_at)
    # At the moment of the request: never above what was in force, nor above the request
    # unless the request is a raise.
    assert size(in_force_now) <= size(before)
    assert size(in_force_now) == min(size(before), size(requested))
    if later < RAISE_DELAY:
        assert size(changed.in_force(asked_at + later)) <= size(before)
    else:
        assert changed.in_force(asked_at + later) == requested


@given(caps, caps, offsets)
def test_settling_never_changes_what_is_in_force(
    start: int | None, requested: int | None, gap: timedelta
) -> None:
    cap = Cap(current=start).change(requested, NOW)
    assert cap.settled(NOW + gap).in_force(NOW + gap) == cap.in_force(NOW + gap)


def test_cooling_off_lasts_the_chosen_days() -> None:
    for days in (7, 30, 90):
        assert cooling_off_end(None, days, NOW) == NOW + timedelta(days=days)


def test_cooling_off_can_be_lengthened_but_not_shortened() -> None:
    until = cooling_off_end(None, 90, NOW)
    assert cooling_off_end(until, 7, NOW + timedelta(days=1)) == until
    assert cooling_off_end(until, 90, NOW + timedelta(days=10)) == NOW + timedelta(days=100)


@pytest.mark.parametrize("days", [0, 1, 8, 31, 365, -7])
def test_only_7_30_or_90_days(days: int) -> None:
    with pytest.raises(ValueError):
        cooling_off_end(None, days, NOW)


def test_cooling_off_is_active_until_its_end() -> None:
    until = NOW + timedelta(days=7)
    assert cooling_off_active(until, NOW)
    assert not cooling_off_active(until, until)
    assert not cooling_off_active(None, NOW)
