"""The base-date report of COMPLIANCE M3 as pure functions (資金決済法, 自家型前払式支払手段).

For a base date (基準日: 3/31 or 9/30, JST) the unused balance is taken at the end of that day
(JST): paid lots issued by then and not expired by then, each valued at its own issue price
(``lots.value_jpy``: the exact fraction of what was paid, rounded up to the yen per lot). Medals
held by a reservation that was not yet spent count as unused. Above the threshold the issuer
must deposit at least half the balance (rounded up to the yen) and report within two months;
none of it applies when every paid lot is valid for six months or less.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from koepon.kernel.clock import JST, jst_day_start
from koepon.payment.wallet.lots import value_jpy

BASE_DATES = ((3, 31), (9, 30))


class NotABaseDate(ValueError):
    pass


def is_base_date(day: date) -> bool:
    return (day.month, day.day) in BASE_DATES


def day_start(day: date) -> datetime:
    """00:00 JST of ``day`` as a UTC instant."""
    return jst_day_start(day)


def day_end(day: date) -> datetime:
    """The end of ``day`` in JST (= the next day's 00:00 JST) as a UTC instant."""
    return day_start(day + timedelta(days=1))


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months in JST, clamped to the month's last day (8/31 + 6 months = 2/28 or 29)."""
    local = moment.astimezone(JST)
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day).astimezone(UTC)


def filing_deadline(base_date: date) -> date:
    """Two months after the base date: 3/31 → 5/31, 9/30 → 11/30."""
    if not is_base_date(base_date):
        raise NotABaseDate(base_date.isoformat())
    month = base_date.month + 2
    return date(base_date.year, month, calendar.monthrange(base_date.year, month)[1])


def period_start(base_date: date) -> date:
    """The first day of the half-year ending at ``base_date`` (10/1 or 4/1)."""
    if not is_base_date(base_date):
        raise NotABaseDate(base_date.isoformat())
    return date(base_date.year - 1, 10, 1) if base_date.month == 3 else date(base_date.year, 4, 1)


def valid_six_months_or_less(issued_at: datetime, expires_at: datetime) -> bool:
    return expires_at <= add_months(issued_at, 6)


@dataclass(frozen=True)
class LotAtBaseDate:
    """A paid lot with what of it had been consumed (used, expired, clawed back) by the cutoff."""

    lot_id: str
    medals: int
    price_jpy: int
    consumed: int
    issued_at: datetime
    expires_at: datetime


@dataclass
class BookDay:
    """One JST day of the issuance/use book (帳簿). Yen only for paid medals."""

    day: date
    paid_issued_medals: int = 0
    paid_issued_jpy: int = 0
    paid_used_medals: int = 0
    paid_used_jpy: int = 0
    paid_expired_medals: int = 0
    paid_expired_jpy: int = 0
    paid_clawed_back_medals: int = 0
    paid_clawed_back_jpy: int = 0
    free_issued_medals: int = 0
    free_used_medals: int = 0
    free_expired_medals: int = 0
    free_clawed_back_medals: int = 0


@dataclass(frozen=True)
class Movement:
    """A lot movement for the book: ``entry`` is issue, use, settle, expire or claw_back."""

    occurred_at: datetime
    kind: str
    entry: str
    medals: int
    value_jpy: int


@dataclass(frozen=True)
class PrepaidReport:
    base_date: date
    cutoff: datetime
    unused_paid_medals: int
    unused_balance_jpy: int
    lots_counted: int
    threshold_jpy: int
    exceeds_threshold: bool
    alert_threshold_jpy: int
    alert: bool
    exempt: bool  # every paid lot valid ≤ 6 months: the act's obligations do not apply
    obligations_apply: bool
    required_deposit_jpy: int
    filing_deadline: date
    period_start: date
    book: list[BookDay] = field(default_factory=list)


def book_days(movements: list[Movement]) -> list[BookDay]:
    """The daily book: movements summed per JST calendar day, oldest first."""
    days: dict[date, BookDay] = {}
    for m in movements:
        day = m.occurred_at.astimezone(JST).date()
        row = days.setdefault(day, BookDay(day))
        entry = "used" if m.entry in ("use", "settle") else m.entry
        entry = {"issue": "issued", "expire": "expired", "claw_back": "clawed_back"}.get(
            entry, entry
        )
        if m.kind == "paid":
            setattr(row, f"paid_{entry}_medals", getattr(row, f"paid_{entry}_medals") + m.medals)
            setattr(row, f"paid_{entry}_jpy", getattr(row, f"paid_{entry}_jpy") + m.value_jpy)
        else:
            setattr(row, f"free_{entry}_medals", getattr(row, f"free_{entry}_medals") + m.medals)
    return [days[d] for d in sorted(days)]


def unused_balance_report(
    base_date: date,
    lots: list[LotAtBaseDate],
    *,
    all_paid_validities: list[tuple[datetime, datetime]],
    threshold_jpy: int,
    alert_jpy: int,
    movements: list[Movement] | None = None,
) -> PrepaidReport:
    """The M3 figures for ``base_date``.

    ``lots``: paid lots issued before the cutoff (any not expired by then are counted);
    ``all_paid_validities``: (issued_at, expires_at) of every paid lot issued before the cutoff,
    for the exemption; ``movements``: lot movements of the half-year, for the book.
    """
    if not is_base_date(base_date):
        raise NotABaseDate(base_date.isoformat())
    cutoff = day_end(base_date)
    counted = [lot for lot in lots if lot.issued_at < cutoff < lot.expires_at]
    medals = sum(lot.medals - lot.consumed for lot in counted)
    balance = sum(
        value_jpy(lot.price_jpy, lot.medals, lot.medals - lot.consumed) for lot in counted
    )
    exempt = all(valid_six_months_or_less(i, e) for i, e in all_paid_validities)
    exceeds = balance > threshold_jpy
    obligations = exceeds and not exempt
    return PrepaidReport(
        base_date=base_date,
        cutoff=cutoff,
        unused_paid_medals=medals,
        unused_balance_jpy=balance,
        lots_counted=len(counted),
        threshold_jpy=threshold_jpy,
        exceeds_threshold=exceeds,
        alert_threshold_jpy=alert_jpy,
        alert=balance >= alert_jpy,
        exempt=exempt,
        obligations_apply=obligations,
        required_deposit_jpy=-(-balance // 2) if obligations else 0,
        filing_deadline=filing_deadline(base_date),
        period_start=period_start(base_date),
        book=book_days(movements or []),
    )
