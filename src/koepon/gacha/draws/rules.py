"""Account-wide rules on draws (COMPLIANCE A3) and which slots count as paid (pure)."""

from __future__ import annotations

from datetime import datetime

from koepon.contracts.auth import SpendingProfile
from koepon.gacha.errors import CoolingOff, DrawCapReached


def check_account_limits(
    profile: SpendingProfile | None, *, now: datetime, month_medals: int, price: int
) -> None:
    """Refuse a draw of ``price`` medals during the fan's cooling-off pause, or one that would
    take this JST month's medals committed to draws past the fan's self-set cap (A3)."""
    if profile is None:
        return
    if profile.cooling_off_until is not None and now < profile.cooling_off_until:
        raise CoolingOff(
            "you chose a cooling-off pause; paid draws resume at "
            f"{profile.cooling_off_until.isoformat()}",
            until=profile.cooling_off_until.isoformat(),
            rule="A3",
        )
    cap = profile.monthly_draw_cap_medals
    if cap is not None and month_medals + price > cap:
        raise DrawCapReached(
            f"your monthly draw limit is {cap} medals; {month_medals} are used this month and "
            f"this draw costs {price}",
            cap_medals=cap,
            used_medals=month_medals,
            rule="A3",
        )


def paid_slots(count: int, *, paid_medals: int, price_medals: int) -> int:
    """Slots of a draw that count as paid for exchange points: in proportion to the paid
    medals spent, rounded down (free medals earn no points)."""
    if price_medals <= 0 or paid_medals <= 0:
        return 0
    return min(count, count * paid_medals // price_medals)
