"""Age and the COMPLIANCE A2 age bracket, computed on the Tokyo calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from koepon.auth.age import age_bracket, age_on, plausible_birthdate, tokyo_today

birthdates = st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31))
days = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))


def test_age_counts_completed_years() -> None:
    assert age_on(date(2000, 5, 10), date(2016, 5, 9)) == 15
    assert age_on(date(2000, 5, 10), date(2016, 5, 10)) == 16
    assert age_on(date(2000, 5, 10), date(2000, 5, 10)) == 0


def test_a_leap_day_birthday_completes_on_the_first_of_march_in_common_years() -> None:
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18
    assert age_on(date(2008, 2, 29), date(2028, 2, 29)) == 20


def test_brackets_change_on_the_sixteenth_and_eighteenth_birthdays() -> None:
    born = date(2010, 4, 1)
    assert age_bracket(born, date(2026, 3, 31)) == "under_16"
    assert age_bracket(born, date(2026, 4, 1)) == "16_17"
    assert age_bracket(born, date(2028, 3, 31)) == "16_17"
    assert age_bracket(born, date(2028, 4, 1)) == "adult"


def test_the_day_is_taken_in_tokyo() -> None:
    assert tokyo_today(datetime(2026, 5, 31, 14, 59, tzinfo=UTC)) == date(2026, 5, 31)
    assert tokyo_today(datetime(2026, 5, 31, 15, 0, tzinfo=UTC)) == date(2026, 6, 1)


def test_plausible_birthdates_are_past_and_at_most_120_years_ago() -> None:
    today = date(2026, 6, 1)
    assert plausible_birthdate(date(2026, 5, 31), today)
    assert not plausible_birthdate(today, today)
    assert not plausible_birthdate(date(2026, 6, 2), today)
    assert plausible_birthdate(date(1906, 6, 1), today)
    assert not plausible_birthdate(date(1905, 6, 1), today)


@given(birthdates, days, days)
def test_age_never_decreases_with_time(born: date, a: date, b: date) -> None:
    early, late = sorted((a, b))
    assert age_on(born, early) <= age_on(born, late)


@given(birthdates, days)
def test_age_grows_by_at_most_one_from_one_day_to_the_next(born: date, day: date) -> None:
    step = age_on(born, day + timedelta(days=1)) - age_on(born, day)
    assert step in (0, 1)


@given(birthdates, days)
def test_bracket_agrees_with_age(born: date, day: date) -> None:
    age = age_on(born, day)
    expected = "under_16" if age < 16 else "16_17" if age < 18 else "adult"
    assert age_bracket(born, day) == expected
