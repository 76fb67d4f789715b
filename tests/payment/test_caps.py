"""Spending limits, COMPLIANCE A1–A3, as a pure function: exhaustive on the boundaries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from koepon.payment.checkout.caps import (
    MINORS_NOTICE,
    TOKYO,
    AgeCaps,
    Allowed,
    Purchaser,
    Refused,
    age_cap_jpy,
    age_on,
    check_purchase,
    day_bounds,
    month_bounds,
    month_cap_jpy,
    month_key,
    tokyo_day,
)

CAPS = AgeCaps(under_16_jpy=5_000, age_16_17_jpy=10_000)
NOW = datetime(2025, 1, 20, 3, 0, tzinfo=UTC)


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=TOKYO).astimezone(UTC)  # type: ignore[misc]


def check(purchaser: Purchaser, price: int, spent: int = 0, now: datetime = NOW):  # type: ignore[no-untyped-def]
    return check_purchase(purchaser, price_jpy=price, month_spent_jpy=spent, now=now, caps=CAPS)


def test_no_birth_date_is_refused_with_the_minors_notice() -> None:
    refused = check(Purchaser(birthdate=None), 100)
    assert isinstance(refused, Refused)
    assert (refused.code, refused.rule) == ("birthdate_required", "A1")
    assert MINORS_NOTICE in refused.detail


@pytest.mark.parametrize(
    ("age", "cap"),
    [(0, 5_000), (12, 5_000), (15, 5_000), (16, 10_000), (17, 10_000), (18, None), (40, None)],
)
def test_age_caps_by_bracket(age: int, cap: int | None) -> None:
    assert age_cap_jpy(age, CAPS) == cap


@pytest.mark.parametrize(
    ("spent", "price", "allowed"),
    [
        (0, 5_000, True),
        (4_000, 1_000, True),
        (4_000, 1_001, False),
        (5_000, 1, False),
        (0, 5_001, False),
        (4_999, 1, True),
    ],
)
def test_a_15_year_old_buys_up_to_5000_yen_a_month(spent: int, price: int, allowed: bool) -> None:
    fifteen = Purchaser(birthdate=date(2009, 6, 1))
    decision = check(fifteen, price, spent)
    assert isinstance(decision, Allowed) is allowed
    if not allowed:
        assert isinstance(decision, Refused)
        assert (decision.code, decision.rule) == ("spending_cap_exceeded", "A2")
        assert decision.month_cap_jpy == 5_000


def test_16_and_17_year_olds_have_10000_yen() -> None:
    sixteen = Purchaser(birthdate=date(2008, 6, 1))
    assert isinstance(check(sixteen, 10_000), Allowed)
    assert isinstance(check(sixteen, 10_001), Refused)


def test_adults_have_no_age_cap() -> None:
    adult = Purchaser(birthdate=date(1990, 1, 1))
    assert check(adult, 1_000_000, 5_000_000) == Allowed(None, None)


def test_the_age_cap_changes_on_the_jst_birthday() -> None:
    # Turns 16 on 2025-02-01 (JST): on 31 Jan 23:59:59 JST the ¥5,000 cap applies.
    fan = Purchaser(birthdate=date(2009, 2, 1))
    assert isinstance(check(fan, 6_000, now=jst(2025, 1, 31, 23, 59, 59)), Refused)
    assert isinstance(check(fan, 6_000, now=jst(2025, 2, 1, 0, 0, 0)), Allowed)


def test_a_self_set_cap_is_enforced_for_adults_as_rule_a3() -> None:
    adult = Purchaser(birthdate=date(1990, 1, 1), self_cap_jpy=3_000)
    assert isinstance(check(adult, 3_000), Allowed)
    refused = check(adult, 1_000, 2_500)
    assert isinstance(refused, Refused)
    assert (refused.code, refused.rule, refused.month_cap_jpy) == (
        "spending_cap_exceeded",
        "A3",
        3_000,
    )


def test_the_tighter_cap_wins_and_a2_is_named_when_both_are_broken() -> None:
    minor = Purchaser(birthdate=date(2012, 1, 1), self_cap_jpy=8_000)
    refused = check(minor, 6_000)
    assert isinstance(refused, Refused) and refused.rule == "A2"
    stricter = Purchaser(birthdate=date(2012, 1, 1), self_cap_jpy=1_000)
    refused = check(stricter, 6_000)
    assert isinstance(refused, Refused) and refused.rule == "A2"
    refused = check(stricter, 2_000)
    assert isinstance(refused, Refused) and refused.rule == "A3"
    assert month_cap_jpy(stricter, NOW, CAPS) == 1_000


def test_cooling_off_refuses_until_it_ends() -> None:
    until = NOW + timedelta(days=7)
    fan = Purchaser(birthdate=date(1990, 1, 1), cooling_off_until=until)
    refused = check(fan, 100)
    assert isinstance(refused, Refused)
    assert (refused.code, refused.rule, refused.until) == ("cooling_off_active", "A3", until)
    assert isinstance(check(fan, 100, now=until), Allowed)


def test_month_keys_and_bounds_follow_the_jst_calendar() -> None:
    assert month_key(jst(2025, 1, 31, 23, 59, 59)) == "2025-01"
    assert month_key(jst(2025, 2, 1, 0, 0, 0)) == "2025-02"
    assert month_key(datetime(2025, 1, 31, 15, 0, tzinfo=UTC)) == "2025-02"  # 00:00 JST
    start, end = month_bounds(jst(2024, 12, 15, 12, 0))
    assert (start, end) == (jst(2024, 12, 1, 0, 0), jst(2025, 1, 1, 0, 0))
    assert day_bounds(date(2025, 3, 1)) == (jst(2025, 3, 1, 0, 0), jst(2025, 3, 2, 0, 0))
    assert tokyo_day(datetime(2025, 3, 1, 15, 0)) == date(2025, 3, 2)  # naive = UTC


@pytest.mark.parametrize(
    ("born", "day", "age"),
    [
        (date(2008, 2, 29), date(2024, 2, 28), 15),
        (date(2008, 2, 29), date(2024, 2, 29), 16),
        (date(2008, 2, 29), date(2025, 2, 28), 16),
        (date(2008, 2, 29), date(2026, 3, 1), 18),
        (date(2009, 2, 29 - 1), date(2025, 2, 27), 15),
        (date(2010, 12, 31), date(2026, 12, 31), 16),
    ],
)
def test_age_on_a_date(born: date, day: date, age: int) -> None:
    assert age_on(born, day) == age


def test_negative_amounts_are_a_programming_error() -> None:
    with pytest.raises(ValueError):
        check(Purchaser(birthdate=date(1990, 1, 1)), -1)


@given(
    birth=st.dates(min_value=date(1920, 1, 1), max_value=date(2024, 12, 31)),
    spent=st.integers(min_value=0, max_value=50_000),
    price=st.integers(min_value=1, max_value=20_000),
    self_cap=st.one_of(st.none(), st.integers(min_value=0, max_value=50_000)),
    moment=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    ),
)
def test_an_allowed_purchase_never_takes_the_month_past_any_cap(
    birth: date, spent: int, price: int, self_cap: int | None, moment: datetime
) -> None:
    fan = Purchaser(birthdate=birth, self_cap_jpy=self_cap)
    decision = check(fan, price, spent, now=moment)
    cap = month_cap_jpy(fan, moment, CAPS)
    if isinstance(decision, Allowed):
        assert cap is None or spent + price <= cap
        assert decision.month_cap_jpy == cap
    else:
        assert decision.code == "spending_cap_exceeded"
        assert cap is not None and spent + price > cap
