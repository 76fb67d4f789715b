"""Pack price arithmetic (pure): the consumption tax inside a tax-included price, bonus bounds.

Prices are shown and stored tax-included (COMPLIANCE P3, 総額表示) in whole yen (P4). The tax
is the part of the price that is tax: price × rate ÷ (100 + rate), rounded down to the yen.
"""

from __future__ import annotations

from koepon.kernel import money

MAX_PRICE_JPY = 1_000_000
MAX_MEDALS = 10_000_000


def tax_included_in(price_jpy: int, rate_percent: int) -> int:
    """The consumption tax contained in a tax-included price (whole yen, rounded down)."""
    return money.tax_included_in(price_jpy, rate_percent)


def pack_problems(
    *, price_jpy: int, paid_medals: int, bonus_medals: int, max_bonus_percent: int
) -> list[str]:
    """What is wrong with a pack's numbers (empty: nothing).

    Bonus medals of the same currency count as a discount, not a premium (COMPLIANCE G10), but
    a pack stays mostly what it says: the bonus is bounded by a share of the paid medals.
    """
    problems: list[str] = []
    if not 1 <= price_jpy <= MAX_PRICE_JPY:
        problems.append(f"price_jpy must be between 1 and {MAX_PRICE_JPY:,} yen (tax included)")
    if not 1 <= paid_medals <= MAX_MEDALS:
        problems.append(f"paid_medals must be between 1 and {MAX_MEDALS:,}")
    if bonus_medals < 0:
        problems.append("bonus_medals cannot be negative")
    elif bonus_medals * 100 > paid_medals * max_bonus_percent:
        problems.append(
            f"bonus_medals may be at most {max_bonus_percent}% of paid_medals (COMPLIANCE G10: "
            "a bonus is a discount only while the pack stays what it says)"
        )
    return problems
