"""Statement months: JST calendar months written ``YYYY-MM``, their bounds and neighbours."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from koepon.kernel.clock import jst_day, jst_day_start

MONTH_PATTERN = r"^2\d{3}-(0[1-9]|1[0-2])$"
_MONTH = re.compile(MONTH_PATTERN)


def parse(month: str) -> tuple[int, int]:
    """``"2026-11"`` → ``(2026, 11)``; ``ValueError`` for anything else."""
    if not _MONTH.match(month) or not 2000 <= int(month[:4]) <= 2999:
        raise ValueError(f"{month!r} is not a month written YYYY-MM")
    return int(month[:4]), int(month[5:])


def first_day(month: str) -> date:
    year, number = parse(month)
    return date(year, number, 1)


def following(month: str) -> str:
    year, number = parse(month)
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def previous(month: str) -> str:
    year, number = parse(month)
    return f"{year - 1:04d}-12" if number == 1 else f"{year:04d}-{number - 1:02d}"


def last_day(month: str) -> date:
    return first_day(following(month)) - timedelta(days=1)


def end_instant(month: str) -> datetime:
    """The UTC instant the JST month ends (00:00 JST of the next month's first day)."""
    return jst_day_start(first_day(following(month)))


def has_ended(month: str, now: datetime) -> bool:
    return now >= end_instant(month)


def of_instant(now: datetime) -> str:
    """The JST month containing the instant ``now``."""
    day = jst_day(now)
    return f"{day.year:04d}-{day.month:02d}"
