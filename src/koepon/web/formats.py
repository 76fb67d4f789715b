"""How pages write prices, medals, dates and rates (Japanese conventions first)."""

from __future__ import annotations

from datetime import date, datetime

from koepon.kernel.clock import JST
from koepon.kernel.money import yen_label
from koepon.web.i18n import current_language

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def yen(amount: int | None) -> str:
    """``1,100円(税込)`` in both languages: prices in Japan are stated tax-included in yen."""
    return "" if amount is None else yen_label(int(amount))


def number(value: int | None) -> str:
    return "" if value is None else f"{int(value):,}"


def _parse(value: str | date | datetime | None) -> date | datetime | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            return None


def day(value: str | date | datetime | None) -> str:
    """``2026年11月30日`` (``30 Nov 2026`` in English), in Japan time."""
    moment = _parse(value)
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        moment = moment.astimezone(JST).date() if moment.tzinfo else moment.date()
    if current_language() == "en":
        return f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year}"
    return f"{moment.year}年{moment.month}月{moment.day}日"


def moment(value: str | datetime | None) -> str:
    """A date and time in Japan time: ``2026年11月30日 18:05``."""
    parsed = _parse(value)
    if not isinstance(parsed, datetime):
        return day(value)
    local = parsed.astimezone(JST) if parsed.tzinfo else parsed
    return f"{day(local)} {local:%H:%M}"


def ppm_percent(ppm: int | None) -> str:
    """A rate in parts per million as a percentage truncated to 4 decimals (COMPLIANCE G6)."""
    if ppm is None:
        return ""
    whole, rest = divmod(int(ppm), 10_000)
    return f"{whole}.{rest:04d}%"
