"""Spending limits on medal purchases, COMPLIANCE A1–A3 (pure: plain values in, a decision out).

The purchase date is the JST calendar day of the checkout; the month is the JST calendar month;
amounts are tax-included yen. The month's spend counts purchases that succeeded and those still
pending (they reserve room, so two checkouts at once cannot both squeeze under a cap).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol

from koepon.kernel.clock import JST, as_utc, jst_day, jst_day_bounds, jst_month_bounds

TOKYO = JST
MINORS_NOTICE = "未成年の方は親権者の同意を得てから購入してください"

RefusalCode = Literal["birthdate_required", "cooling_off_active", "spending_cap_exceeded"]
Rule = Literal["A1", "A2", "A3"]


@dataclass(frozen=True)
class AgeCaps:
    """COMPLIANCE A2 monthly caps (settings): under 16, 16–17; 18 and over have none."""

    under_16_jpy: int = 5_000
    age_16_17_jpy: int = 10_000


@dataclass(frozen=True)
class Purchaser:
    """What A1–A3 need to know about the fan (from the auth service's spending profile)."""

    birthdate: date | None
    self_cap_jpy: int | None = None
    cooling_off_until: datetime | None = None


class SpendingLimits(Protocol):
    """The fields of the auth service's spending profile that A1–A3 read."""

    @property
    def birthdate(self) -> date | None: ...

    @property
    def monthly_purchase_cap_jpy(self) -> int | None: ...

    @property
    def cooling_off_until(self) -> datetime | None: ...


def purchaser(profile: SpendingLimits) -> Purchaser:
    """The purchaser A1–A3 judge, from a fan's spending profile."""
    return Purchaser(
        birthdate=profile.birthdate,
        self_cap_jpy=profile.monthly_purchase_cap_jpy,
        cooling_off_until=profile.cooling_off_until,
    )


@dataclass(frozen=True)
class Allowed:
    """The purchase may go ahead; ``month_cap_jpy`` is the tightest cap in force (or None)."""

    month_cap_jpy: int | None
    remaining_jpy: int | None


@dataclass(frozen=True)
class Refused:
    """The purchase breaks a rule; ``code`` is the stable problem code."""

    code: RefusalCode
    rule: Rule
    detail: str
    month_cap_jpy: int | None = None
    month_spent_jpy: int | None = None
    until: datetime | None = None


Decision = Allowed | Refused


def tokyo_day(now: datetime) -> date:
    """The JST calendar day at instant ``now`` (naive instants are taken as UTC)."""
    return jst_day(now)


def month_key(now: datetime) -> str:
    """``YYYY-MM`` of the JST calendar month containing ``now``."""
    day = tokyo_day(now)
    return f"{day.year:04d}-{day.month:02d}"


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The UTC instants [start, end) of the JST calendar month containing ``now``."""
    return jst_month_bounds(now)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants [start, end) of one JST calendar day."""
    return jst_day_bounds(day)


def age_on(birthdate: date, day: date) -> int:
    """Completed years on ``day`` (a 29 February birthday completes on 1 March in common years,
    as 年齢計算ニ関スル法律 has it)."""
    years = day.year - birthdate.year
    if (day.month, day.day) < (birthdate.month, birthdate.day):
        years -= 1
    return years


def age_cap_jpy(age: int, caps: AgeCaps) -> int | None:
    """The A2 monthly cap for an age, or None for adults."""
    if age < 16:
        return caps.under_16_jpy
    if age < 18:
        return caps.age_16_17_jpy
    return None


def _tightest(*caps: int | None) -> int | None:
    present = [cap for cap in caps if cap is not None]
    return min(present) if present else None


def month_cap_jpy(purchaser: Purchaser, now: datetime, caps: AgeCaps) -> int | None:
    """The tightest monthly purchase cap in force for this fan at ``now`` (None: no cap)."""
    if purchaser.birthdate is None:
        return 0
    age_cap = age_cap_jpy(age_on(purchaser.birthdate, tokyo_day(now)), caps)
    return _tightest(age_cap, purchaser.self_cap_jpy)


def _yen(amount: int) -> str:
    return f"¥{amount:,}"


def check_purchase(
    purchaser: Purchaser,
    *,
    price_jpy: int,
    month_spent_jpy: int,
    now: datetime,
    caps: AgeCaps,
) -> Decision:
    """May this fan buy for ``price_jpy`` now, having spent ``month_spent_jpy`` this JST month?"""
    if price_jpy < 0 or month_spent_jpy < 0:
        raise ValueError("Amounts are non-negative yen")
    if purchaser.birthdate is None:
        return Refused(
            "birthdate_required",
            "A1",
            f"Register your birth date before your first purchase. {MINORS_NOTICE}",
        )
    if purchaser.cooling_off_until is not None:
        until = as_utc(purchaser.cooling_off_until)
        if until > now:
            return Refused(
                "cooling_off_active",
                "A3",
                "You paused purchases (cooling-off) until "
                f"{until.astimezone(TOKYO):%Y-%m-%d %H:%M} JST",
                until=until,
            )
    age_cap = age_cap_jpy(age_on(purchaser.birthdate, tokyo_day(now)), caps)
    after = month_spent_jpy + price_jpy
    # The age cap (A2) is named first when both would be broken: it is the law's floor.
    limits: tuple[tuple[Rule, int | None, str], ...] = (
        ("A2", age_cap, "the monthly limit for your age"),
        ("A3", purchaser.self_cap_jpy, "the monthly limit you set yourself"),
    )
    for rule, cap, why in limits:
        if cap is not None and after > cap:
            return Refused(
                "spending_cap_exceeded",
                rule,
                f"This purchase ({_yen(price_jpy)}) would exceed {why}: {_yen(cap)} a month, "
                f"{_yen(month_spent_jpy)} already used this month (JST, tax included)",
                month_cap_jpy=cap,
                month_spent_jpy=month_spent_jpy,
            )
    cap = _tightest(age_cap, purchaser.self_cap_jpy)
    return Allowed(cap, None if cap is None else cap - after)
