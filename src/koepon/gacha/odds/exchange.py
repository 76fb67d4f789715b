"""交換ポイント: points earned by paid draws and spent on a chosen item (COMPLIANCE G2).

Only paid draws earn points (free medals do not buy the right to choose); balances are integers.
"""

from __future__ import annotations

from koepon.gacha.errors import ExchangeRefused
from koepon.gacha.odds.model import Exchange


def accrue(balance: int, *, paid_draws: int, rule: Exchange | None) -> int:
    """The balance after ``paid_draws`` paid slots (a paid 10連 is ten)."""
    if paid_draws < 0 or balance < 0:
        raise ValueError("draw counts and balances are never negative")
    if rule is None:
        return balance
    return balance + paid_draws * rule.points_per_paid_draw


def cost_of(item_id: str, rule: Exchange | None) -> int | None:
    if rule is None:
        return None
    return next((o.cost_points for o in rule.offers if o.item_id == item_id), None)


def spend(balance: int, *, item_id: str, rule: Exchange | None) -> int:
    """The balance after exchanging points for ``item_id``; refused when not possible."""
    cost = cost_of(item_id, rule)
    if cost is None:
        raise ExchangeRefused(f"{item_id} cannot be exchanged for points", item_id=item_id)
    if balance < cost:
        raise ExchangeRefused(
            f"{item_id} costs {cost} points; the balance is {balance}",
            item_id=item_id,
            cost_points=cost,
            balance_points=balance,
        )
    return balance - cost


def draws_to_exchange(item_id: str, rule: Exchange | None) -> int | None:
    """Paid draws after which the item can always be had: a ceiling for its expected cost."""
    cost = cost_of(item_id, rule)
    if cost is None or rule is None or rule.points_per_paid_draw <= 0:
        return None
    return max(1, -(-cost // rule.points_per_paid_draw))
