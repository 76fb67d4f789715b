"""Age on a date and the age bracket of COMPLIANCE A2 (pure: no I/O, no clock)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from koepon.kernel.clock import JST, jst_day

AgeBracket = Literal["under_16", "16_17", "adult"]
TOKYO = JST  # kept for callers of the old name
MAX_PLAUSIBLE_AGE = 120


def age_on(birthdate: date, day: date) -> int:
    """Completed years on ``day``. A 29 February birthday counts from 1 March in common years,
    which is also when Japanese law (年齢計算ニ関スル法律) has the year complete."""
    years = day.year - birthdate.year
    if (day.month, day.day) < (birthdate.month, birthdate.day):
        years -= 1
    return years


def age_bracket(birthdate: date, day: date) -> AgeBracket:
    """The A2 bracket on ``day``: under 16, 16–17, or 18 and over (成年, since 2022)."""
    age = age_on(birthdate, day)
    if age < 16:
        return "under_16"
    if age < 18:
        return "16_17"
    return "adult"


def tokyo_today(now: datetime) -> date:
    """The calendar day in Japan at instant ``now`` (business calendars are JST)."""
    return jst_day(now)


def plausible_birthdate(birthdate: date, today: date) -> bool:
    """A birth date in the past, at most 120 years ago."""
    return birthdate < today and age_on(birthdate, today) <= MAX_PLAUSIBLE_AGE
