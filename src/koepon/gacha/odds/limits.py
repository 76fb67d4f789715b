"""Per-fan draw limits of one gacha (its own caps; account-wide caps A2–A3 live elsewhere)."""

from __future__ import annotations

from koepon.gacha.errors import DrawLimitReached
from koepon.gacha.odds.model import FanLimits


def draws_left(limits: FanLimits, *, drawn: int, drawn_today: int) -> int | None:
    """Slots the fan may still draw now (None: no limit). ``drawn_today`` counts the JST day."""
    left = [
        cap - used
        for cap, used in ((limits.max_draws, drawn), (limits.max_draws_per_day, drawn_today))
        if cap is not None
    ]
    return max(0, min(left)) if left else None


def check_draw_limits(limits: FanLimits, *, drawn: int, drawn_today: int, count: int) -> None:
    """Refuse a draw of ``count`` slots that would pass a per-fan limit."""
    left = draws_left(limits, drawn=drawn, drawn_today=drawn_today)
    if left is not None and count > left:
        raise DrawLimitReached(
            f"this gacha allows {left} more draws for you now; {count} were asked for",
            draws_left=left,
        )
