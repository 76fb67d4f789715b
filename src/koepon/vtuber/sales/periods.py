"""The JST calendar periods sales are read over: months of statements, ranges of reports (pure)."""

from __future__ import annotations

import re
from datetime import date, timedelta

from koepon.vtuber.sales.errors import InvalidMonth, InvalidRange

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MAX_REPORT_DAYS = 366  # a report covers at most a year (a leap year's every day)
DEFAULT_REPORT_DAYS = 30


def month_days(month: str) -> tuple[date, date]:
    """The first day of JST ``month`` ('YYYY-MM') and of the month after it."""
    found = MONTH.match(month)
    if found is None or int(found.group(1)) < 2000:
        raise InvalidMonth(f"month: {month!r} is not a month written YYYY-MM", param="month")
    year, number = int(found.group(1)), int(found.group(2))
    following = date(year + number // 12, number % 12 + 1, 1)
    return date(year, number, 1), following


def report_range(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """The days [start, end] a report covers: ``to`` defaults to today (JST), ``from`` to
    ``DEFAULT_REPORT_DAYS`` days before ``to``; at most ``MAX_REPORT_DAYS`` days."""
    end = end or today
    start = start or end - timedelta(days=DEFAULT_REPORT_DAYS - 1)
    if start > end:
        raise InvalidRange(
            f"from: {start.isoformat()} is after to ({end.isoformat()})", param="from"
        )
    if (end - start).days + 1 > MAX_REPORT_DAYS:
        raise InvalidRange(
            f"from/to: a report covers at most {MAX_REPORT_DAYS} days", param="from,to"
        )
    return start, end
