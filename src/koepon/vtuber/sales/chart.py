"""A bar chart per JST day as a standalone SVG document (pure): no script, no external
resource, every text escaped (titles come from VTubers)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from html import escape

from koepon.vtuber.sales.schemas import SalesReport

HEIGHT = 320
TOP = 56
BOTTOM = 48
LEFT = 88
RIGHT = 24
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM
MAX_LABELS = 12
# Characters XML 1.0 does not allow (an SVG holding one would not parse at all).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
FONT = "font-family=\"'Noto Sans JP', 'Hiragino Sans', sans-serif\""


def text(value: str) -> str:
    """``value`` safe as SVG text or attribute content."""
    return escape(NOT_XML.sub("", value), quote=True)


def amount(value: int) -> str:
    return f"{value:,}"


def bar_chart(*, title: str, unit: str, bars: Sequence[tuple[date, int]]) -> str:
    """One bar per day (negative values are drawn as 0), the day's value in its tooltip."""
    count = max(len(bars), 1)
    slot = max(4, min(40, 960 // count))
    width = LEFT + RIGHT + slot * count
    top_value = max([value for _, value in bars] + [1])
    every = -(-count // MAX_LABELS)  # ceiling: at most MAX_LABELS day labels
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{HEIGHT}" '
        f'viewBox="0 0 {width} {HEIGHT}" role="img" aria-label="{text(title)}">',
        f"<title>{text(title)}</title>",
        f'<rect width="{width}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="28" font-size="16" {FONT} fill="#222222">{text(title)}</text>',
        f'<text x="{LEFT - 8}" y="{TOP + 4}" font-size="11" text-anchor="end" {FONT} '
        f'fill="#555555">{text(amount(top_value))}</text>',
        f'<text x="{LEFT - 8}" y="{TOP + PLOT_HEIGHT + 4}" font-size="11" text-anchor="end" '
        f'{FONT} fill="#555555">0</text>',
        f'<text x="8" y="{TOP - 12}" font-size="11" {FONT} fill="#555555">{text(unit)}</text>',
        f'<line x1="{LEFT}" y1="{TOP + PLOT_HEIGHT}" x2="{width - RIGHT}" '
        f'y2="{TOP + PLOT_HEIGHT}" stroke="#999999"/>',
    ]
    for index, (day, value) in enumerate(bars):
        shown = max(value, 0)
        bar = shown * PLOT_HEIGHT // top_value
        x = LEFT + index * slot
        parts.append(
            f'<rect x="{x + 1}" y="{TOP + PLOT_HEIGHT - bar}" width="{max(slot - 2, 1)}" '
            f'height="{bar}" fill="#e4577a"><title>{text(day.isoformat())}: '
            f"{text(amount(value))} {text(unit)}</title></rect>"
        )
        if index % every == 0:
            parts.append(
                f'<text x="{x + slot // 2}" y="{TOP + PLOT_HEIGHT + 18}" font-size="10" '
                f'text-anchor="middle" {FONT} fill="#555555">'
                f"{day.month}/{day.day}</text>"
            )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


METRICS = {"value_jpy": ("売上", "円"), "draws": ("ドロー数", "回")}


def sales_chart(report: SalesReport, metric: str) -> str:
    """The report's days as bars of ``metric`` (``value_jpy``: this VTuber's yen value of
    paid medals; ``draws``: slots drawn)."""
    name, unit = METRICS[metric]
    scope = report.gachas[0].title if report.gacha_id and report.gachas else report.gacha_id
    title = f"{name} {report.from_.isoformat()} – {report.to.isoformat()}"
    if scope:
        title = f"{scope}: {title}"
    return bar_chart(
        title=title,
        unit=unit,
        bars=[(day.day, getattr(day, metric)) for day in report.days],
    )
