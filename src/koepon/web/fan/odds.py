"""The odds disclosure as the gacha page shows it (COMPLIANCE G6, G7): the API's tables in a
fixed order with readable names, and the bars of the rarity chart (drawn as inline SVG)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from koepon.web.i18n import gettext as _

RARITIES = ("N", "R", "SR", "SSR", "UR")
TABLE_ORDER = ("main", "box", "guaranteed", "pity")
CHART_WIDTH = 100  # the SVG's viewBox is in percent of the bar area
BAR_HEIGHT = 8
BAR_GAP = 4


@dataclass(frozen=True)
class Bar:
    rarity: str
    rate_ppm: int
    y: int
    width: float


def table_title(name: str) -> str:
    titles = {
        "main": _("Rates per draw"),
        "box": _("Box contents (rates of the next draw)"),
        "guaranteed": _("Guaranteed slot of the 10-draw"),
        "pity": _("Pity (天井) table"),
    }
    return titles.get(name, name)


def ordered_tables(odds: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The odds tables, the main (or box) one first, then any other the API gives."""
    tables: dict[str, list[dict[str, Any]]] = odds.get("tables") or {}
    names = [n for n in TABLE_ORDER if n in tables] + sorted(set(tables) - set(TABLE_ORDER))
    return [(name, tables[name]) for name in names]


def chart_bars(totals: list[dict[str, Any]]) -> list[Bar]:
    """One bar per rarity of a table, its width the rate's share of the whole."""
    by_rarity = {str(t["rarity"]): int(t["rate_ppm"]) for t in totals}
    shown = [r for r in RARITIES if r in by_rarity] + sorted(set(by_rarity) - set(RARITIES))
    return [
        Bar(
            rarity=rarity,
            rate_ppm=by_rarity[rarity],
            y=index * (BAR_HEIGHT + BAR_GAP),
            width=round(max(by_rarity[rarity], 0) * CHART_WIDTH / 1_000_000, 3),
        )
        for index, rarity in enumerate(shown)
    ]


def chart_height(bars: list[Bar]) -> int:
    return max(len(bars) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP, BAR_HEIGHT)


def item_names(gacha: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every item of a gacha by id (name, rarity, content), from its odds tables."""
    found: dict[str, dict[str, Any]] = {}
    for _name, lines in ordered_tables(gacha.get("odds") or {}):
        for line in lines:
            found.setdefault(str(line["item_id"]), line)
    return found


def stock_of(gacha: dict[str, Any]) -> list[dict[str, Any]]:
    """A box gacha's lines with what is left (empty for a weighted gacha)."""
    lines = (gacha.get("odds") or {}).get("tables", {}).get("box") or []
    return [line for line in lines if line.get("total") is not None]
