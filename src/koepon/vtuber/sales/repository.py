"""Queries of the sale facts (``vtuber_sales``): writing them once, reading sums per gacha and
JST day. Sums are computed in SQL (a year of a popular VTuber is many rows)."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, distinct, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.vtuber.sales.facts import (
    DRAW,
    PENDING,
    RARITIES,
    REVERSAL,
    DrawSpend,
    Fact,
    Figures,
)
from koepon.vtuber.sales.models import SaleFact
from koepon.vtuber.sales.report import DaySums


def _insert(session: AsyncSession):  # type: ignore[no-untyped-def]
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


# --- writing ---------------------------------------------------------------------------------


async def lock_draw(session: AsyncSession, draw_id: str) -> None:
    """Serialise the events of one draw until the transaction ends: a completion and a reversal
    arriving together must each see what the other wrote. PostgreSQL: a transaction-scoped
    advisory lock on the draw id; SQLite writers already run one at a time."""
    if session.get_bind().dialect.name != "postgresql":
        return
    key = int.from_bytes(hashlib.sha256(b"vtuber.sales:" + draw_id.encode()).digest()[:8], "big")
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key - (1 << 63)})


async def add(session: AsyncSession, facts: Collection[Fact]) -> int:
    """Write the facts not written before (the unique key: draw, VTuber, kind); how many."""
    written = 0
    for fact in facts:
        result = await session.execute(
            _insert(session)(SaleFact).values(**fact.values()).on_conflict_do_nothing()
        )
        written += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return written


async def of_draw(session: AsyncSession, draw_id: str, kind: str) -> list[SaleFact]:
    found = await session.scalars(
        select(SaleFact)
        .where(SaleFact.draw_id == draw_id, SaleFact.kind == kind)
        .order_by(SaleFact.vtuber_id)
    )
    return list(found)


async def complete_reversals(session: AsyncSession, draw_id: str, figures: Figures) -> int:
    """Give a draw's reversal rows written before the draw was known (``draws`` 0) the draw's
    other figures, negated; their yen stay what the reversal said."""
    negated = figures.negated()
    result = await session.execute(
        update(SaleFact)
        .where(
            SaleFact.draw_id == draw_id,
            SaleFact.kind == REVERSAL,
            SaleFact.vtuber_id != PENDING,
            SaleFact.draws == 0,
        )
        .values(
            draws=negated.draws,
            price_medals=negated.price_medals,
            paid_medals=negated.paid_medals,
            free_medals=negated.free_medals,
            rarities=negated.rarities,
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def as_fact(row: SaleFact) -> Fact:
    return Fact(
        draw_id=row.draw_id,
        kind=row.kind,
        vtuber_id=row.vtuber_id,
        gacha_id=row.gacha_id,
        user_id=row.user_id,
        occurred_at=row.occurred_at,
        figures=Figures(
            draws=row.draws,
            price_medals=row.price_medals,
            paid_medals=row.paid_medals,
            free_medals=row.free_medals,
            paid_value_jpy=row.paid_value_jpy,
            rarities={k: int(v) for k, v in (row.rarities or {}).items()},
        ),
        share_bp=row.share_bp,
        value_jpy=row.value_jpy,
        transfer_id=row.transfer_id,
    )


# --- reading ---------------------------------------------------------------------------------


def _in_range(
    vtuber_id: str, start: date, end: date, gacha_id: str | None
) -> list[ColumnElement[bool]]:
    where = [SaleFact.vtuber_id == vtuber_id, SaleFact.jst_day >= start, SaleFact.jst_day <= end]
    if gacha_id is not None:
        where.append(SaleFact.gacha_id == gacha_id)
    return where


def _total(column: Any) -> Any:
    return func.coalesce(func.sum(column), 0)


async def day_sums(
    session: AsyncSession, vtuber_id: str, start: date, end: date, gacha_id: str | None
) -> list[DaySums]:
    rarity_sums = [_total(SaleFact.rarities[name].as_integer()) for name in RARITIES]
    rows = await session.execute(
        select(
            SaleFact.gacha_id,
            SaleFact.jst_day,
            SaleFact.kind,
            _total(SaleFact.draws),
            _total(SaleFact.paid_medals),
            _total(SaleFact.free_medals),
            _total(SaleFact.value_jpy),
            *rarity_sums,
        )
        .where(*_in_range(vtuber_id, start, end, gacha_id))
        .group_by(SaleFact.gacha_id, SaleFact.jst_day, SaleFact.kind)
    )
    return [
        DaySums(
            gacha_id=row[0],
            day=row[1],
            kind=row[2],
            draws=int(row[3]),
            paid_medals=int(row[4]),
            free_medals=int(row[5]),
            value_jpy=int(row[6]),
            rarities={name: int(n) for name, n in zip(RARITIES, row[7:], strict=True)},
        )
        for row in rows
    ]


async def fans(
    session: AsyncSession,
    vtuber_id: str,
    start: date,
    end: date,
    gacha_id: str | None,
    *,
    by: str | None = None,
) -> dict[Any, int]:
    """Distinct fans who drew (counts only, never who): per ``by`` ("day", "gacha",
    "gacha_day") or, with ``by`` None, over the whole range under the key None."""
    groupings: dict[str | None, list[Any]] = {
        None: [],
        "day": [SaleFact.jst_day],
        "gacha": [SaleFact.gacha_id],
        "gacha_day": [SaleFact.gacha_id, SaleFact.jst_day],
    }
    keys = groupings[by]
    query = select(*keys, func.count(distinct(SaleFact.user_id))).where(
        *_in_range(vtuber_id, start, end, gacha_id), SaleFact.kind == DRAW
    )
    if keys:
        query = query.group_by(*keys)
    counted: dict[Any, int] = {}
    for row in await session.execute(query):
        key = None if not keys else (row[0] if len(keys) == 1 else tuple(row[:-1]))
        counted[key] = int(row[-1])
    return counted


async def drawn_before(
    session: AsyncSession, vtuber_id: str, gacha_ids: Collection[str], day: date
) -> dict[str, int]:
    """Slots drawn from each gacha before JST ``day`` (box sell-through is cumulative)."""
    if not gacha_ids:
        return {}
    rows = await session.execute(
        select(SaleFact.gacha_id, _total(SaleFact.draws))
        .where(
            SaleFact.vtuber_id == vtuber_id,
            SaleFact.gacha_id.in_(gacha_ids),
            SaleFact.kind == DRAW,
            SaleFact.jst_day < day,
        )
        .group_by(SaleFact.gacha_id)
    )
    return {gacha_id: int(n) for gacha_id, n in rows}


async def month_value(session: AsyncSession, vtuber_id: str, first: date, following: date) -> int:
    total = await session.scalar(
        select(_total(SaleFact.value_jpy)).where(
            SaleFact.vtuber_id == vtuber_id,
            SaleFact.jst_day >= first,
            SaleFact.jst_day < following,
        )
    )
    return int(total or 0)


async def month_values(session: AsyncSession, first: date, following: date) -> dict[str, int]:
    rows = await session.execute(
        select(SaleFact.vtuber_id, _total(SaleFact.value_jpy))
        .where(
            SaleFact.vtuber_id != PENDING,
            SaleFact.jst_day >= first,
            SaleFact.jst_day < following,
        )
        .group_by(SaleFact.vtuber_id)
    )
    return {vtuber_id: int(total) for vtuber_id, total in rows}


async def month_by_gacha(
    session: AsyncSession, vtuber_id: str, first: date, following: date
) -> list[tuple[str, str, int, int, int, int]]:
    """(gacha, kind, draws, paid medals, free medals, yen) of one VTuber's JST month."""
    rows = await session.execute(
        select(
            SaleFact.gacha_id,
            SaleFact.kind,
            _total(SaleFact.draws),
            _total(SaleFact.paid_medals),
            _total(SaleFact.free_medals),
            _total(SaleFact.value_jpy),
        )
        .where(
            SaleFact.vtuber_id == vtuber_id,
            SaleFact.jst_day >= first,
            SaleFact.jst_day < following,
        )
        .group_by(SaleFact.gacha_id, SaleFact.kind)
    )
    return [(g, k, int(d), int(p), int(f), int(v)) for g, k, d, p, f, v in rows]


async def month_draw_spends(
    session: AsyncSession, first: date, following: date, *, after: str | None, limit: int
) -> list[DrawSpend]:
    """The draws (kind draw) dated in [first, following), by draw id after ``after``: what
    their rows say was paid and the payment transfer (one per draw, not per party)."""
    where = [SaleFact.kind == DRAW, SaleFact.jst_day >= first, SaleFact.jst_day < following]
    if after is not None:
        where.append(SaleFact.draw_id > after)
    rows = await session.execute(
        select(
            SaleFact.draw_id,
            func.min(SaleFact.paid_value_jpy),
            func.max(SaleFact.paid_value_jpy),
            func.max(SaleFact.transfer_id),
        )
        .where(*where)
        .group_by(SaleFact.draw_id)
        .order_by(SaleFact.draw_id)
        .limit(limit)
    )
    return [DrawSpend(d, int(low), int(high), transfer) for d, low, high, transfer in rows]
