"""The sale facts a gacha event makes: one row per earning VTuber and kind (pure).

A draw's row holds the draw's whole figures and the VTuber's part of its paid yen value (the
collab split, ``split.py``); a reversal's row holds the same figures negated, dated when the
reversal happened. Free medals earn nothing (COMPLIANCE R1): only ``paid_value_jpy`` is split.

A reversal that names neither its gacha nor its figures (published before those fields existed)
and whose draw is not known yet is kept as a *pending* row: VTuber and gacha ``""``, every figure
0, so it adds nothing to any sum and belongs to no VTuber. When the draw arrives, its reversal
rows are written from the draw's own figures, dated at the pending row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from koepon.contracts.gacha import DrawCompleted, DrawnItem
from koepon.contracts.vtuber import RevenueShare
from koepon.kernel.clock import as_utc, jst_day
from koepon.vtuber.sales.split import split

DRAW = "draw"
REVERSAL = "reversal"
PENDING = ""  # the VTuber and gacha of a pending reversal
RARITIES = ("N", "R", "SR", "SSR", "UR")


@dataclass(frozen=True)
class Figures:
    """A draw's whole figures (the same on every party's row)."""

    draws: int
    price_medals: int
    paid_medals: int
    free_medals: int
    paid_value_jpy: int
    rarities: dict[str, int]

    def negated(self) -> Figures:
        return Figures(
            draws=-self.draws,
            price_medals=-self.price_medals,
            paid_medals=-self.paid_medals,
            free_medals=-self.free_medals,
            paid_value_jpy=-self.paid_value_jpy,
            rarities={name: -count for name, count in self.rarities.items()},
        )


NO_FIGURES = Figures(0, 0, 0, 0, 0, {})


@dataclass(frozen=True)
class DrawSpend:
    """What a draw's rows say it was paid (once per draw, whatever its parties): the lowest
    and highest ``paid_value_jpy`` of its rows (equal unless a row was altered) and the
    payment transfer that spent its medals (None: the event did not say)."""

    draw_id: str
    min_paid_value_jpy: int
    max_paid_value_jpy: int
    transfer_id: str | None


@dataclass(frozen=True)
class Fact:
    """One ``vtuber_sales`` row to write."""

    draw_id: str
    kind: str
    vtuber_id: str
    gacha_id: str
    user_id: str
    occurred_at: datetime
    figures: Figures
    share_bp: int
    value_jpy: int
    transfer_id: str | None = None  # the payment ledger's spend of the draw (None: not sent)

    @property
    def jst_day(self) -> date:
        return jst_day(self.occurred_at)

    def values(self) -> dict[str, Any]:
        return {
            "draw_id": self.draw_id,
            "kind": self.kind,
            "vtuber_id": self.vtuber_id,
            "gacha_id": self.gacha_id,
            "user_id": self.user_id,
            "occurred_at": self.occurred_at,
            "jst_day": self.jst_day,
            "draws": self.figures.draws,
            "price_medals": self.figures.price_medals,
            "paid_medals": self.figures.paid_medals,
            "free_medals": self.figures.free_medals,
            "paid_value_jpy": self.figures.paid_value_jpy,
            "share_bp": self.share_bp,
            "value_jpy": self.value_jpy,
            "rarities": dict(self.figures.rarities),
            "transfer_id": self.transfer_id,
        }


def rarity_counts(items: Iterable[DrawnItem]) -> dict[str, int]:
    """Slots per rarity, in rarity order (rarities not drawn are left out)."""
    counts: Counter[str] = Counter(item.rarity for item in items)
    return {name: counts[name] for name in RARITIES if counts[name]}


def draw_figures(event: DrawCompleted) -> Figures:
    return Figures(
        draws=event.count,
        price_medals=event.price_medals,
        paid_medals=event.paid_medals,
        free_medals=event.free_medals,
        paid_value_jpy=event.paid_value_jpy,
        rarities=rarity_counts(event.items),
    )


def for_draw(event: DrawCompleted, parties: Sequence[RevenueShare]) -> list[Fact]:
    """A completed draw's rows: one per party, its part of the paid yen value."""
    figures = draw_figures(event)
    parts = split(event.paid_value_jpy, parties)
    return [
        Fact(
            draw_id=event.draw_id,
            kind=DRAW,
            vtuber_id=party.vtuber_id,
            gacha_id=event.gacha_id,
            user_id=event.user_id,
            occurred_at=as_utc(event.completed_at),
            figures=figures,
            share_bp=party.share_bp,
            value_jpy=parts[party.vtuber_id],
            transfer_id=event.transfer_id,
        )
        for party in parties
    ]


def for_reversal(
    *,
    draw_id: str,
    user_id: str,
    gacha_id: str,
    at: datetime,
    paid_value_jpy: int,
    parties: Sequence[RevenueShare],
    figures: Figures | None,
) -> list[Fact]:
    """A reversal's rows from what it carries: ``paid_value_jpy`` split by ``parties`` and
    negated; the draw's other figures negated when they are known (else 0 until the draw
    arrives: ``completed_figures``)."""
    parts = split(paid_value_jpy, parties)
    known = replace(figures or NO_FIGURES, paid_value_jpy=paid_value_jpy)
    return [
        Fact(
            draw_id=draw_id,
            kind=REVERSAL,
            vtuber_id=party.vtuber_id,
            gacha_id=gacha_id,
            user_id=user_id,
            occurred_at=as_utc(at),
            figures=known.negated(),
            share_bp=party.share_bp,
            value_jpy=-parts[party.vtuber_id],
        )
        for party in parties
    ]


def reversing(draw: Fact, at: datetime) -> Fact:
    """The reversal of one of a draw's rows, dated ``at``."""
    return replace(
        draw,
        kind=REVERSAL,
        occurred_at=as_utc(at),
        figures=draw.figures.negated(),
        value_jpy=-draw.value_jpy,
    )


def pending(*, draw_id: str, user_id: str, at: datetime) -> Fact:
    """A reversal waiting for its draw (see the module's docstring)."""
    return Fact(
        draw_id=draw_id,
        kind=REVERSAL,
        vtuber_id=PENDING,
        gacha_id=PENDING,
        user_id=user_id,
        occurred_at=as_utc(at),
        figures=NO_FIGURES,
        share_bp=0,
        value_jpy=0,
    )
