"""Rate arithmetic on integer weights: totals, ppm, truncated percent (G6), expected cost (G7).

Everything is exact (integers and fractions); rounding happens only when a figure is shown, and
always in the fan's favour of being told more, never less: percentages are truncated as the
industry rule says, costs are rounded up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from koepon.gacha.odds.model import Rarity

PERCENT_NOTICE = "表示は小数点第5位以下切り捨て; 合計が100%にならない場合があります"
COST_FLAG_MULTIPLE = 100  # G7: expected cost above 100× one draw's price is flagged
COST_FLAG_JPY = 50_000  # G7: or above ¥50,000


def table_total(weights: Iterable[int]) -> int:
    return sum(weights)


def rate(weight: int, total: int) -> Fraction:
    """The exact probability of a line of weight ``weight`` in a table of total ``total``."""
    if total <= 0:
        raise ValueError("a table's total weight must be positive")
    return Fraction(weight, total)


def rate_ppm(weight: int, total: int) -> int:
    """Parts per million, truncated (so a displayed rate never exceeds the true one)."""
    if total <= 0:
        raise ValueError("a table's total weight must be positive")
    return weight * 1_000_000 // total


def percent_truncated(weight: int, total: int) -> str:
    """The rate in percent to 4 decimal places, digits beyond cut off (G6): ``"3.1250"``.

    One ppm is exactly 0.0001 %, so the truncated percent is the truncated ppm re-pointed.
    """
    ppm = rate_ppm(weight, total)
    return f"{ppm // 10_000}.{ppm % 10_000:04d}"


def rarity_totals(lines: Iterable[tuple[Rarity, int]]) -> dict[Rarity, int]:
    """Total weight per rarity, in rarity order, rarities absent from the table left out."""
    totals: dict[Rarity, int] = {}
    for rarity, weight in lines:
        totals[rarity] = totals.get(rarity, 0) + weight
    return {rarity: totals[rarity] for rarity in Rarity if rarity in totals}


def expected_draws(p: Fraction, pity_draws: int | None = None) -> Fraction:
    """Expected number of draws to obtain an item of probability ``p`` per draw.

    Without a ceiling that is 1/p; with a ceiling that hands the item over at draw N it is
    E[min(Geometric(p), N)] = (1 − (1 − p)^N) / p.
    """
    if not 0 < p <= 1:
        raise ValueError("a probability must be in (0, 1]")
    if pity_draws is None:
        return 1 / p
    if pity_draws < 1:
        raise ValueError("a ceiling is at least one draw")
    return (1 - (1 - p) ** pity_draws) / p


def expected_cost(price: int, p: Fraction, pity_draws: int | None = None) -> Fraction:
    """推定金額 (G7): price ÷ p, or price × (1 − (1 − p)^N) ÷ p with a ceiling at N draws."""
    return price * expected_draws(p, pity_draws)


def round_up(value: Fraction) -> int:
    """A shown cost: rounded up, so it is never understated."""
    return -((-value.numerator) // value.denominator)


def cost_is_flagged(cost_jpy: Fraction, price_jpy: int) -> bool:
    """G7: flagged in review (and shown prominently) above 100× a draw's price or ¥50,000."""
    return cost_jpy > COST_FLAG_MULTIPLE * price_jpy or cost_jpy > COST_FLAG_JPY


@dataclass(frozen=True)
class LineRate:
    """One line of a table with its exact rate and the figures shown for it."""

    item_id: str
    rarity: Rarity
    weight: int
    rate: Fraction
    rate_ppm: int
    percent: str


def line_rates(lines: Sequence[tuple[str, Rarity, int]]) -> tuple[LineRate, ...]:
    """Rates of every line of a table (item id, rarity, weight), in the table's order."""
    total = table_total(weight for _, _, weight in lines)
    return tuple(
        LineRate(
            item_id=item_id,
            rarity=rarity,
            weight=weight,
            rate=rate(weight, total),
            rate_ppm=rate_ppm(weight, total),
            percent=percent_truncated(weight, total),
        )
        for item_id, rarity, weight in lines
    )
