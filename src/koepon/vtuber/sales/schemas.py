"""The sales report and the month figures statements are made from.

Money is integer yen (``*_jpy``) and medals; a VTuber's ``value_jpy`` is its part of the yen
value of the *paid* medals spent (COMPLIANCE R1: free medals earn nothing), before the revenue
share payouts apply. Fans are counted, never named.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SellThrough(BaseModel):
    """A box's slots drawn since it opened (up to the end of the day or range) over its stock."""

    drawn: int
    stock: int
    ppm: int = Field(description="drawn / stock in parts per million, rounded down")
    percent: str = Field(description="the same for display, e.g. '12.3%'")


class Figures(BaseModel):
    draws: int = Field(0, description="slots drawn (a 10連 is 10)")
    reversed_draws: int = Field(0, description="slots of draws reversed in the period")
    paid_medals: int = Field(0, description="paid (有償) medals spent on the draws")
    free_medals: int = Field(0, description="free (無償) medals spent: they earn nothing (R1)")
    value_jpy: int = Field(0, description="this VTuber's part of the paid medals' yen value")
    refunds_jpy: int = Field(0, description="yen value taken back by reversals in the period")
    net_jpy: int = Field(0, description="value_jpy - refunds_jpy")
    unique_fans: int = Field(0, description="distinct fans who drew (a count, never who)")
    rarities: dict[str, int] = Field(default_factory=dict, description="slots per rarity")


class DayFigures(Figures):
    day: date = Field(description="the Asia/Tokyo calendar day")
    sell_through: SellThrough | None = None


class GachaSales(BaseModel):
    gacha_id: str
    title: str
    kind: str | None = Field(description="weighted | box; null while the gacha is not known")
    box_stock: int | None
    share_bp: int | None = Field(description="this VTuber's share of a collab (10000 = solo)")
    totals: Figures
    sell_through: SellThrough | None
    days: list[DayFigures] = Field(description="the days with sales or reversals")


class SalesReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    vtuber_id: str
    from_: date = Field(alias="from")
    to: date
    gacha_id: str | None
    seller_of_record: Literal["platform"] = "platform"
    totals: Figures
    days: list[DayFigures] = Field(description="every day of the range, all gachas together")
    gachas: list[GachaSales]


@dataclass(frozen=True)
class GachaMonth:
    """One gacha's line of a VTuber's JST month: ``draws``, medals and ``value_jpy`` of the draws
    completed in the month; ``refunds_jpy`` (≥ 0 when reversals take back) of the reversals
    dated in it; ``net_jpy = value_jpy - refunds_jpy``. Σ ``net_jpy`` = ``month_gross``."""

    gacha_id: str
    title: str
    draws: int
    paid_medals: int
    free_medals: int
    value_jpy: int
    refunds_jpy: int
    net_jpy: int
