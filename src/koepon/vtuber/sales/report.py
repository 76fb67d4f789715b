"""The sales report assembled from sums per gacha, JST day and kind (pure).

Draw rows give a day's draws, medals, value and rarities (on the day the draw completed);
reversal rows give its reversed draws and refunds (on the day of the reversal). A box's
sell-through is cumulative: the slots drawn since it opened, over its whole stock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from koepon.vtuber.gachas.schemas import GachaSummary
from koepon.vtuber.sales.facts import DRAW, RARITIES
from koepon.vtuber.sales.schemas import (
    DayFigures,
    Figures,
    GachaSales,
    SalesReport,
    SellThrough,
)

PPM = 1_000_000


@dataclass(frozen=True)
class DaySums:
    """One VTuber's sums of one kind of row, for one gacha and JST day."""

    gacha_id: str
    day: date
    kind: str
    draws: int
    paid_medals: int
    free_medals: int
    value_jpy: int
    rarities: dict[str, int]


@dataclass(frozen=True)
class FanCounts:
    """Distinct fans who drew: over the range, per day, per gacha, per gacha and day."""

    total: int
    per_day: Mapping[date, int]
    per_gacha: Mapping[str, int]
    per_gacha_day: Mapping[tuple[str, date], int]


def sell_through(drawn: int, stock: int | None) -> SellThrough | None:
    if not stock or stock <= 0:
        return None
    ppm = drawn * PPM // stock
    return SellThrough(
        drawn=drawn, stock=stock, ppm=ppm, percent=f"{ppm // 10_000}.{ppm % 10_000 // 1_000}%"
    )


def days_of(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _add(figures: Figures, sums: DaySums) -> None:
    if sums.kind == DRAW:
        figures.draws += sums.draws
        figures.paid_medals += sums.paid_medals
        figures.free_medals += sums.free_medals
        figures.value_jpy += sums.value_jpy
        for name in RARITIES:
            figures.rarities[name] = figures.rarities.get(name, 0) + sums.rarities.get(name, 0)
    else:  # a reversal row holds the figures negated
        figures.reversed_draws -= sums.draws
        figures.refunds_jpy -= sums.value_jpy
    figures.net_jpy = figures.value_jpy - figures.refunds_jpy


def _empty_rarities() -> dict[str, int]:
    return dict.fromkeys(RARITIES, 0)


def build(
    *,
    vtuber_id: str,
    start: date,
    end: date,
    gacha_id: str | None,
    sums: Iterable[DaySums],
    fans: FanCounts,
    gachas: Mapping[str, GachaSummary],
    drawn_before: Mapping[str, int],
) -> SalesReport:
    totals = Figures(rarities=_empty_rarities(), unique_fans=fans.total)
    all_days = {
        day: DayFigures(day=day, rarities=_empty_rarities(), unique_fans=fans.per_day.get(day, 0))
        for day in days_of(start, end)
    }
    per_gacha: dict[str, Figures] = {}
    gacha_days: dict[str, dict[date, DayFigures]] = defaultdict(dict)
    for row in sums:
        _add(totals, row)
        _add(all_days[row.day], row)
        figures = per_gacha.setdefault(
            row.gacha_id,
            Figures(rarities=_empty_rarities(), unique_fans=fans.per_gacha.get(row.gacha_id, 0)),
        )
        _add(figures, row)
        day = gacha_days[row.gacha_id].setdefault(
            row.day,
            DayFigures(
                day=row.day,
                rarities=_empty_rarities(),
                unique_fans=fans.per_gacha_day.get((row.gacha_id, row.day), 0),
            ),
        )
        _add(day, row)
    lines = []
    for gid, figures in per_gacha.items():
        summary = gachas.get(gid)
        stock = summary.box_stock if summary is not None and summary.kind == "box" else None
        days = sorted(gacha_days[gid].values(), key=lambda d: d.day)
        drawn = drawn_before.get(gid, 0)
        for day in days:
            drawn += day.draws
            day.sell_through = sell_through(drawn, stock)
        lines.append(
            GachaSales(
                gacha_id=gid,
                title=summary.title if summary is not None else gid,
                kind=summary.kind if summary is not None else None,
                box_stock=summary.box_stock if summary is not None else None,
                share_bp=summary.share_of(vtuber_id) if summary is not None else None,
                totals=figures,
                sell_through=sell_through(drawn, stock),
                days=days,
            )
        )
    lines.sort(key=lambda g: (-g.totals.net_jpy, g.gacha_id))
    return SalesReport(
        vtuber_id=vtuber_id,
        from_=start,
        to=end,
        gacha_id=gacha_id,
        totals=totals,
        days=list(all_days.values()),
        gachas=lines,
    )
