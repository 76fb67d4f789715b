"""Withholding on royalties to individuals (COMPLIANCE R2): 10.21% up to ¥1,000,000 a payment,
20.42% on the part above plus ¥102,100; nothing from corporations; integer yen, fractions
dropped."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from koepon.vtuber.payouts.withholding import TAX_AT_THRESHOLD_JPY, withholding_jpy


@pytest.mark.parametrize(
    ("amount", "tax"),
    [
        (1, 0),  # 0.1021 → 0
        (9, 0),  # 0.9189 → 0
        (10, 1),  # 1.021 → 1
        (100, 10),  # 10.21 → 10
        (10_000, 1_021),
        (700_000, 71_470),
        (999_999, 102_099),  # 102,099.8979 → 102,099
        (1_000_000, 102_100),  # exactly 10.21%
        (1_000_001, 102_100),  # 102,100 + floor(0.2042)
        (1_000_002, 102_100),  # 102,100 + floor(0.4084)
        (1_000_005, 102_101),  # 102,100 + floor(1.021)
        (1_500_000, 204_200),  # 102,100 + 500,000 × 20.42%
        (2_000_000, 306_300),
        (12_345_678, 2_418_887),  # 102,100 + floor(11,345,678 × 0.2042 = 2,316,787.4476)
    ],
)
def test_individual_withholding_by_the_nta_rule(amount: int, tax: int) -> None:
    assert withholding_jpy(amount, "individual") == tax


def test_the_figure_at_the_boundary_is_ten_point_two_one_percent() -> None:
    assert TAX_AT_THRESHOLD_JPY == 102_100


@pytest.mark.parametrize("amount", [0, -1, -1_000_000])
def test_nothing_is_withheld_from_nothing(amount: int) -> None:
    assert withholding_jpy(amount, "individual") == 0


@pytest.mark.parametrize("amount", [1, 999_999, 1_000_000, 1_000_001, 50_000_000])
def test_corporations_are_not_withheld_from(amount: int) -> None:
    assert withholding_jpy(amount, "corporation") == 0


def test_an_unknown_entity_type_is_refused() -> None:
    with pytest.raises(ValueError, match="entity type"):
        withholding_jpy(1000, "partnership")


@given(st.integers(min_value=1, max_value=10**12))
def test_matches_exact_decimal_arithmetic(amount: int) -> None:
    from decimal import ROUND_FLOOR, Decimal

    exact = (
        Decimal(amount) * Decimal("0.1021")
        if amount <= 1_000_000
        else (Decimal(amount) - 1_000_000) * Decimal("0.2042") + 102_100
    )
    assert withholding_jpy(amount, "individual") == int(exact.to_integral_value(ROUND_FLOOR))


@given(st.integers(min_value=0, max_value=10**10))
def test_more_paid_never_withholds_less_nor_leaves_less(amount: int) -> None:
    here, next_ = withholding_jpy(amount, "individual"), withholding_jpy(amount + 1, "individual")
    assert here <= next_
    assert amount - here <= amount + 1 - next_
