"""Pack prices: the tax inside a tax-included price, and the bounds on a pack's numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from koepon.payment.packs.pricing import pack_problems, tax_included_in


@pytest.mark.parametrize(
    ("price", "tax"), [(110, 10), (1_100, 100), (500, 45), (10_000, 909), (1, 0), (11, 1)]
)
def test_tax_contained_in_a_tax_included_price(price: int, tax: int) -> None:
    assert tax_included_in(price, 10) == tax


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=30))
def test_tax_is_the_largest_whole_yen_not_above_the_exact_share(price: int, rate: int) -> None:
    tax = tax_included_in(price, rate)
    # tax ≤ price·rate/(100+rate) < tax + 1, in integers only
    assert tax * (100 + rate) <= price * rate < (tax + 1) * (100 + rate)


def test_bonus_is_bounded_by_a_share_of_the_paid_medals() -> None:
    ok = pack_problems(price_jpy=1_000, paid_medals=1_000, bonus_medals=500, max_bonus_percent=50)
    assert ok == []
    too_much = pack_problems(
        price_jpy=1_000, paid_medals=1_000, bonus_medals=501, max_bonus_percent=50
    )
    assert any("G10" in p for p in too_much)


@pytest.mark.parametrize(
    ("price", "paid", "bonus"), [(0, 100, 0), (100, 0, 0), (100, 100, -1), (2_000_000, 1, 0)]
)
def test_nonsense_packs_are_refused(price: int, paid: int, bonus: int) -> None:
    assert pack_problems(
        price_jpy=price, paid_medals=paid, bonus_medals=bonus, max_bonus_percent=100
    )
