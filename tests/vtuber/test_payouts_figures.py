"""A statement's arithmetic (payouts/statements.py), its months and its ledger postings."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from koepon.vtuber.payouts import months, postings
from koepon.vtuber.payouts.statements import (
    figures,
    input_tax_deduction_pct,
    vtuber_share_jpy,
)
from koepon.vtuber.settings import DEFAULT_DEDUCTION_SCHEDULE, deduction_schedule

SCHEDULE = deduction_schedule(DEFAULT_DEDUCTION_SCHEDULE)


@pytest.mark.parametrize(
    ("gross", "bp", "share"),
    [
        (0, 7000, 0),
        (1000, 7000, 700),
        (1001, 7000, 700),  # 700.7 → 700: the platform keeps the fraction
        (999, 10000, 999),
        (999, 0, 0),
        (-1000, 7000, -700),
        (-1001, 7000, -701),  # -700.7 → -701: toward minus infinity
        (1_428_572, 7000, 1_000_000),  # 1,000,000.4 → 1,000,000
    ],
)
def test_share_is_floored(gross: int, bp: int, share: int) -> None:
    assert vtuber_share_jpy(gross, bp) == share


def test_a_share_outside_0_to_10000_bp_is_refused() -> None:
    with pytest.raises(ValueError):
        vtuber_share_jpy(100, 10001)


@pytest.mark.parametrize(
    ("payable", "withholding", "net"),
    [
        (999_999, 102_099, 897_900),
        (1_000_000, 102_100, 897_900),
        (1_000_001, 102_100, 897_901),
        (1_000_002, 102_100, 897_902),
    ],
)
def test_payable_at_the_boundary(payable: int, withholding: int, net: int) -> None:
    result = figures(gross_jpy=payable, share_bp=10000, carried_in_jpy=0, entity_type="individual")
    assert (result.payable_jpy, result.withholding_jpy, result.net_payable_jpy) == (
        payable,
        withholding,
        net,
    )
    assert result.carried_out_jpy == 0
    assert result.platform_fee_jpy == 0


def test_a_corporation_is_paid_the_whole_payable() -> None:
    result = figures(
        gross_jpy=2_000_000, share_bp=7000, carried_in_jpy=0, entity_type="corporation"
    )
    assert (result.vtuber_share_jpy, result.platform_fee_jpy) == (1_400_000, 600_000)
    assert (result.withholding_jpy, result.net_payable_jpy) == (0, 1_400_000)


def test_a_negative_month_pays_nothing_and_carries_the_debt() -> None:
    # gross -1,001 → share floor(-700.7) = -701, fee -300; nothing paid, -701 carried
    result = figures(gross_jpy=-1001, share_bp=7000, carried_in_jpy=0, entity_type="individual")
    assert result.vtuber_share_jpy == -701
    assert result.platform_fee_jpy == -300
    assert result.payable_jpy == -701
    assert (result.withholding_jpy, result.net_payable_jpy, result.carried_out_jpy) == (
        0,
        0,
        -701,
    )


def test_a_carried_debt_is_taken_from_the_next_share_before_withholding() -> None:
    # share 70,000 − debt 10,000 = payable 60,000; withholding floor(6,126) = 6,126
    result = figures(
        gross_jpy=100_000, share_bp=7000, carried_in_jpy=-10_000, entity_type="individual"
    )
    assert result.payable_jpy == 60_000
    assert result.withholding_jpy == 6_126
    assert result.net_payable_jpy == 53_874
    assert result.carried_out_jpy == 0


def test_a_debt_larger_than_the_share_is_carried_on() -> None:
    result = figures(
        gross_jpy=10_000, share_bp=7000, carried_in_jpy=-10_000, entity_type="individual"
    )
    assert (result.payable_jpy, result.net_payable_jpy, result.carried_out_jpy) == (
        -3_000,
        0,
        -3_000,
    )


def test_a_payable_of_exactly_zero_pays_and_carries_nothing() -> None:
    result = figures(gross_jpy=1000, share_bp=7000, carried_in_jpy=-700, entity_type="individual")
    assert (result.payable_jpy, result.net_payable_jpy, result.carried_out_jpy) == (0, 0, 0)


def test_a_credit_cannot_be_carried_in() -> None:
    with pytest.raises(ValueError):
        figures(gross_jpy=0, share_bp=7000, carried_in_jpy=1, entity_type="individual")


@given(
    gross=st.integers(min_value=-(10**9), max_value=10**9),
    bp=st.integers(min_value=0, max_value=10000),
    carried=st.integers(min_value=-(10**8), max_value=0),
    entity=st.sampled_from(["individual", "corporation"]),
)
def test_statement_invariants(gross: int, bp: int, carried: int, entity: str) -> None:
    result = figures(gross_jpy=gross, share_bp=bp, carried_in_jpy=carried, entity_type=entity)
    assert result.vtuber_share_jpy + result.platform_fee_jpy == gross
    assert result.vtuber_share_jpy * 10000 <= gross * bp < (result.vtuber_share_jpy + 1) * 10000
    assert result.net_payable_jpy >= 0
    assert result.carried_out_jpy <= 0
    assert result.net_payable_jpy + result.withholding_jpy + result.carried_out_jpy == (
        result.payable_jpy
    )


# --- input-tax deduction (R3) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_day", "number", "registered", "pct"),
    [
        (date(2026, 11, 30), "T1234567890123", date(2026, 11, 30), 100),  # on the last day
        (date(2026, 11, 30), "T1234567890123", date(2026, 12, 1), 50),  # registered later
        (date(2026, 11, 30), None, None, 50),
        (date(2026, 9, 30), None, None, 80),
        (date(2023, 9, 30), None, None, 100),  # before the invoice system
        (date(2023, 10, 31), None, None, 80),
        (date(2029, 10, 31), None, None, 0),
        (date(2026, 11, 30), None, date(2020, 1, 1), 50),  # a date without a number
    ],
)
def test_input_tax_deduction(
    last_day: date, number: str | None, registered: date | None, pct: int
) -> None:
    assert (
        input_tax_deduction_pct(
            last_day=last_day,
            invoice_number=number,
            invoice_registered_on=registered,
            schedule=SCHEDULE,
        )
        == pct
    )


# --- months ----------------------------------------------------------------------------------


def test_months() -> None:
    assert months.following("2026-12") == "2027-01"
    assert months.previous("2027-01") == "2026-12"
    assert months.last_day("2028-02") == date(2028, 2, 29)
    # November 2026 ends at 00:00 JST on 1 December = 15:00 UTC on 30 November
    assert months.end_instant("2026-11") == datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    assert not months.has_ended("2026-11", datetime(2026, 11, 30, 14, 59, 59, tzinfo=UTC))
    assert months.has_ended("2026-11", datetime(2026, 11, 30, 15, 0, tzinfo=UTC))
    assert months.of_instant(datetime(2026, 11, 30, 15, 0, tzinfo=UTC)) == "2026-12"


@pytest.mark.parametrize("bad", ["2026-13", "2026-00", "2026-1", "26-11", "2026/11", ""])
def test_bad_months_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        months.parse(bad)


# --- ledger postings -------------------------------------------------------------------------


def test_closing_postings_of_a_positive_month() -> None:
    assert postings.closing(
        vtuber_id="v1", gross_jpy=1000, vtuber_share_jpy=700, withholding_jpy=71
    ) == [
        postings.Posting("medals:paid_value", "platform:paid_medal_sales", 1000, "sales"),
        postings.Posting("platform:paid_medal_sales", "vtuber:v1:payable", 700, "share"),
        postings.Posting("vtuber:v1:payable", "tax:withholding_payable", 71, "withholding"),
    ]
    assert postings.payout(vtuber_id="v1", net_payable_jpy=629) == [
        postings.Posting("vtuber:v1:payable", "bank:payouts", 629, "payout")
    ]


def test_a_negative_month_posts_the_other_way_and_zero_posts_nothing() -> None:
    assert postings.closing(
        vtuber_id="v1", gross_jpy=-1001, vtuber_share_jpy=-701, withholding_jpy=0
    ) == [
        postings.Posting("platform:paid_medal_sales", "medals:paid_value", 1001, "sales"),
        postings.Posting("vtuber:v1:payable", "platform:paid_medal_sales", 701, "share"),
    ]
    assert postings.payout(vtuber_id="v1", net_payable_jpy=0) == []
