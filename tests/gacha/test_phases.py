"""The workflow phase of a gacha (pure): the decided status, with the clock applied to an
approved gacha's period — scheduled before it, live inside it, ended after it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from koepon.gacha.catalog.phases import PHASES, phase

START = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
END = START + timedelta(days=14)
SECOND = timedelta(seconds=1)
moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
)


@pytest.mark.parametrize("status", ["draft", "submitted", "rejected", "ended"])
@given(now=moments)
def test_a_decided_status_is_its_phase_whatever_the_time(status: str, now: datetime) -> None:
    assert phase(status, START, END, now) == status
    assert phase(status, None, None, now) == status


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (START - timedelta(days=3), "scheduled"),
        (START - SECOND, "scheduled"),
        (START, "live"),
        (END - SECOND, "live"),
        (END, "ended"),
        (END + timedelta(days=400), "ended"),
    ],
)
def test_an_approved_gacha_is_scheduled_then_live_then_ended(now: datetime, expected: str) -> None:
    assert phase("approved", START, END, now) == expected


@given(now=moments)
def test_an_open_ended_approved_gacha_never_ends_by_itself(now: datetime) -> None:
    assert phase("approved", START, None, now) == ("scheduled" if now < START else "live")


@given(now=moments)
def test_every_answer_is_a_known_phase_and_an_unknown_status_is_an_error(now: datetime) -> None:
    assert phase("approved", START, END, now) in PHASES
    assert phase("approved", None, None, now) == "scheduled"
    with pytest.raises(ValueError, match="unknown"):
        phase("paused", START, END, now)
