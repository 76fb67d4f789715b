"""Time for every service: UTC instants, the Asia/Tokyo business calendar, an injectable clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Business calendars (purchase days, months, base dates) are Japanese; instants are stored UTC.
JST = ZoneInfo("Asia/Tokyo")

Now = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """An aware UTC instant; a naive one is taken as UTC (what SQLite hands back)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def jst_day(now: datetime) -> date:
    """The calendar day in Japan at instant ``now`` (naive instants are taken as UTC)."""
    return as_utc(now).astimezone(JST).date()


def jst_day_start(day: date) -> datetime:
    """00:00 JST of ``day`` as a UTC instant."""
    return datetime.combine(day, time(0), tzinfo=JST).astimezone(UTC)


def jst_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants [start, end) of one JST calendar day."""
    return jst_day_start(day), jst_day_start(day + timedelta(days=1))


def jst_month_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The UTC instants [start, end) of the JST calendar month containing ``now``."""
    day = jst_day(now)
    start = datetime(day.year, day.month, 1, tzinfo=JST)
    following = datetime(day.year + day.month // 12, day.month % 12 + 1, 1, tzinfo=JST)
    return start.astimezone(UTC), following.astimezone(UTC)


class Clock:
    """The one source of "now" of a service; tests point it at a movable clock.

    Services hold the same ``Clock`` for their lifetime, so a test switching its source moves
    time for all of them at once (no service keeps a stale reference to an older function)."""

    def __init__(self, source: Now = utcnow) -> None:
        self._source = source

    def __call__(self) -> datetime:
        return self._source()

    def now(self) -> datetime:
        return self._source()

    def use(self, source: Now) -> None:
        """Take "now" from ``source`` from here on (tests)."""
        self._source = source
