"""Queries of the draw tables (draws, slots, per-fan state per gacha and per month, exchanges)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.gacha.draws.models import (
    Draw,
    DrawReversal,
    DrawSlot,
    Exchange,
    FanGachaState,
    FanMonth,
)


def _insert(session: AsyncSession):  # type: ignore[no-untyped-def]
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


async def insert_draw(session: AsyncSession, values: dict[str, object]) -> bool:
    """Insert a draw unless the fan already used its idempotency key (then False)."""
    result = await session.execute(_insert(session)(Draw).values(**values).on_conflict_do_nothing())
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def by_key(session: AsyncSession, user_id: str, key: str) -> Draw | None:
    query = select(Draw).where(Draw.user_id == user_id, Draw.idempotency_key == key)
    return (await session.execute(query)).scalar_one_or_none()


async def get(session: AsyncSession, draw_id: str, *, lock: bool = False) -> Draw | None:
    query = select(Draw).where(Draw.id == draw_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def set_status(
    session: AsyncSession, draw_id: str, *, expected: Sequence[str], **values: object
) -> bool:
    """Move a draw on only from one of the ``expected`` statuses (a compare-and-set): False
    when another worker moved it first."""
    result = await session.execute(
        update(Draw).where(Draw.id == draw_id, Draw.status.in_(expected)).values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def user_draws(
    session: AsyncSession, user_id: str, *, limit: int, after: tuple[datetime, str] | None
) -> list[Draw]:
    """A fan's draws, newest first; ``after``: the (requested_at, id) ending the last page."""
    query = (
        select(Draw)
        .where(Draw.user_id == user_id)
        .order_by(Draw.requested_at.desc(), Draw.id.desc())
        .limit(limit)
    )
    if after is not None:
        moment, key = after
        query = query.where(
            (Draw.requested_at < moment) | ((Draw.requested_at == moment) & (Draw.id < key))
        )
    return list((await session.execute(query)).scalars())


async def stale(
    session: AsyncSession, *, statuses: Sequence[str], before: datetime, limit: int
) -> list[str]:
    """Ids of draws in ``statuses`` untouched since ``before`` (the recovery sweeper's work)."""
    query = (
        select(Draw.id)
        .where(Draw.status.in_(statuses), Draw.updated_at < before)
        .order_by(Draw.updated_at)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def count_by_status(session: AsyncSession, *, statuses: Sequence[str]) -> dict[str, int]:
    """How many draws are in each of ``statuses`` (the saga states gauge)."""
    query = select(Draw.status, func.count()).where(Draw.status.in_(statuses)).group_by(Draw.status)
    return {str(status): int(count) for status, count in (await session.execute(query)).all()}


async def peek_fan_state(
    session: AsyncSession, user_id: str, gacha_id: str
) -> FanGachaState | None:
    """The fan's state in a gacha if any, unlocked (early checks only)."""
    return await session.get(FanGachaState, (user_id, gacha_id))


async def fan_state(
    session: AsyncSession, user_id: str, gacha_id: str, *, lock: bool = False
) -> FanGachaState:
    """The fan's state in a gacha (created empty on first use), locked when asked."""
    query = select(FanGachaState).where(
        FanGachaState.user_id == user_id, FanGachaState.gacha_id == gacha_id
    )
    if lock:
        query = query.with_for_update()
    state = (await session.execute(query)).scalar_one_or_none()
    if state is not None:
        return state
    await session.execute(
        _insert(session)(FanGachaState)
        .values(
            user_id=user_id,
            gacha_id=gacha_id,
            drawn=0,
            day="",
            drawn_on_day=0,
            pity=0,
            points=0,
            step=0,
        )
        .on_conflict_do_nothing()
    )
    state = (await session.execute(query)).scalar_one()
    return state


async def month_medals(session: AsyncSession, user_id: str, month: str) -> int:
    row = await session.get(FanMonth, (user_id, month))
    return row.medals if row is not None else 0


async def add_month_medals(session: AsyncSession, user_id: str, month: str, medals: int) -> None:
    """Add (or, negative, give back) medals committed to draws in a JST month."""
    insert_ = _insert(session)
    statement = insert_(FanMonth).values(user_id=user_id, month=month, medals=max(medals, 0))
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id", "month"],
            set_={"medals": func.max(FanMonth.medals + medals, 0)}
            if session.get_bind().dialect.name == "sqlite"
            else {"medals": func.greatest(FanMonth.medals + medals, 0)},
        )
    )


async def add_slots(session: AsyncSession, slots: Sequence[dict[str, object]]) -> None:
    await session.execute(_insert(session)(DrawSlot).values(list(slots)).on_conflict_do_nothing())


async def slot_draws(session: AsyncSession, draw_id: str) -> list[DrawSlot]:
    query = select(DrawSlot).where(DrawSlot.draw_id == draw_id).order_by(DrawSlot.slot)
    return list((await session.execute(query)).scalars())


@dataclass(frozen=True)
class SlotCount:
    odds_version: int
    table: str
    item_id: str
    rarity: str
    count: int


async def slot_counts(session: AsyncSession, gacha_id: str) -> list[SlotCount]:
    """How many completed slots of a gacha came out as each item, per odds version and table
    (what an audit compares with the declared rates)."""
    query = (
        select(
            DrawSlot.odds_version,
            DrawSlot.table,
            DrawSlot.item_id,
            DrawSlot.rarity,
            func.count(),
        )
        .where(DrawSlot.gacha_id == gacha_id)
        .group_by(DrawSlot.odds_version, DrawSlot.table, DrawSlot.item_id, DrawSlot.rarity)
        .order_by(DrawSlot.odds_version, DrawSlot.table, DrawSlot.item_id)
    )
    return [SlotCount(*row) for row in (await session.execute(query)).all()]


async def drawn_gacha_ids(session: AsyncSession, *, since: datetime) -> list[str]:
    """Gachas with slots drawn since ``since`` (the nightly audit's work list)."""
    query = (
        select(Draw.gacha_id)
        .where(Draw.status == "completed", Draw.completed_at >= since)
        .group_by(Draw.gacha_id)
    )
    return list((await session.execute(query)).scalars())


async def exchange_by_key(session: AsyncSession, user_id: str, key: str) -> Exchange | None:
    query = select(Exchange).where(Exchange.user_id == user_id, Exchange.idempotency_key == key)
    return (await session.execute(query)).scalar_one_or_none()


async def reversal(session: AsyncSession, draw_id: str) -> DrawReversal | None:
    return await session.get(DrawReversal, draw_id)


def add_reversal(session: AsyncSession, row: DrawReversal) -> None:
    session.add(row)
