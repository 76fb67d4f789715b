"""Queries of the seed-pair table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.gacha.fairness.models import SeedPair


async def active_pair(
    session: AsyncSession, user_id: str, *, lock: bool = False
) -> SeedPair | None:
    query = select(SeedPair).where(SeedPair.active_user_id == user_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def pair(session: AsyncSession, pair_id: str) -> SeedPair | None:
    return await session.get(SeedPair, pair_id)


async def revealed_pairs(
    session: AsyncSession, user_id: str, *, limit: int, after: tuple[datetime, str] | None = None
) -> list[SeedPair]:
    """The fan's revealed pairs, newest first; ``after``: the (created_at, id) of the last
    pair of the previous page."""
    query = (
        select(SeedPair)
        .where(SeedPair.user_id == user_id, SeedPair.active_user_id.is_(None))
        .order_by(SeedPair.created_at.desc(), SeedPair.id.desc())
        .limit(limit)
    )
    if after is not None:
        moment, key = after
        query = query.where(
            (SeedPair.created_at < moment) | ((SeedPair.created_at == moment) & (SeedPair.id < key))
        )
    return list((await session.execute(query)).scalars())
