"""The sales report as a CSV sheet for Excel (pure): UTF-8 with a BOM, one row per gacha and
JST day, and no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io

from koepon.vtuber.sales.facts import RARITIES
from koepon.vtuber.sales.schemas import SalesReport

BOM = "\ufeff"  # Excel reads UTF-8 only with it
HEADER = [
    "day",
    "gacha_id",
    "title",
    "kind",
    "draws",
    "reversed_draws",
    "paid_medals",
    "free_medals",
    "value_jpy",
    "refunds_jpy",
    "net_jpy",
    "unique_fans",
    *RARITIES,
    "sell_through_ppm",
    "sell_through",
]
# A text cell starting with one of these is a formula to a spreadsheet (CSV injection, OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe(text: str) -> str:
    """A text cell a spreadsheet shows as text: formula starters get a leading apostrophe."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def sales_csv(report: SalesReport) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    rows = [(day.day, line, day) for line in report.gachas for day in line.days]
    rows.sort(key=lambda r: (r[0], r[1].gacha_id))
    for day, line, figures in rows:
        through = figures.sell_through
        writer.writerow(
            [
                day.isoformat(),
                safe(line.gacha_id),
                safe(line.title),
                safe(line.kind or ""),
                figures.draws,
                figures.reversed_draws,
                figures.paid_medals,
                figures.free_medals,
                figures.value_jpy,
                figures.refunds_jpy,
                figures.net_jpy,
                figures.unique_fans,
                *(figures.rarities.get(name, 0) for name in RARITIES),
                through.ppm if through is not None else "",
                through.percent if through is not None else "",
            ]
        )
    return (BOM + out.getvalue()).encode("utf-8")
