"""Queries of the gacha copies and their parties (``vtuber_gachas``, ``vtuber_gacha_parties``)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.vtuber import RevenueShare
from koepon.vtuber.gachas.models import GachaCopy, GachaParty

MAX_GACHAS = 1000  # a VTuber's gachas listed at most (newest changes first)


def _insert(session: AsyncSession):  # type: ignore[no-untyped-def]
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


async def keep_if_newer(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert the copy, or overwrite it when ``values['revision']`` is higher than the one
    kept; True when it was written. One statement: PostgreSQL locks the conflicting row (also
    when the revision is not higher) until the transaction ends, so the parties written next
    belong to the revision that won."""
    insert_ = _insert(session)
    stmt = insert_(GachaCopy).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[GachaCopy.gacha_id],
        set_={name: stmt.excluded[name] for name in values if name != "gacha_id"},
        where=GachaCopy.revision < stmt.excluded.revision,
    ).returning(GachaCopy.gacha_id)
    return (await session.execute(stmt)).first() is not None


async def replace_parties(
    session: AsyncSession, gacha_id: str, parties: Sequence[RevenueShare]
) -> None:
    await session.execute(delete(GachaParty).where(GachaParty.gacha_id == gacha_id))
    session.add_all(
        GachaParty(gacha_id=gacha_id, vtuber_id=p.vtuber_id, share_bp=p.share_bp) for p in parties
    )
    await session.flush()


async def get(session: AsyncSession, gacha_id: str) -> GachaCopy | None:
    return await session.get(GachaCopy, gacha_id)


async def get_many(session: AsyncSession, gacha_ids: Collection[str]) -> list[GachaCopy]:
    if not gacha_ids:
        return []
    found = await session.scalars(select(GachaCopy).where(GachaCopy.gacha_id.in_(gacha_ids)))
    return list(found)


async def parties_of(
    session: AsyncSession, gacha_ids: Collection[str]
) -> dict[str, list[RevenueShare]]:
    by_gacha: dict[str, list[RevenueShare]] = {gacha_id: [] for gacha_id in gacha_ids}
    if not gacha_ids:
        return by_gacha
    rows = await session.execute(
        select(GachaParty.gacha_id, GachaParty.vtuber_id, GachaParty.share_bp).where(
            GachaParty.gacha_id.in_(gacha_ids)
        )
    )
    for gacha_id, vtuber_id, share_bp in rows:
        by_gacha[gacha_id].append(RevenueShare(vtuber_id=vtuber_id, share_bp=share_bp))
    return by_gacha


def _of_vtuber(vtuber_id: str):  # type: ignore[no-untyped-def]
    """A VTuber's gachas: those it leads and those it earns from (collabs)."""
    party = select(GachaParty.gacha_id).where(GachaParty.vtuber_id == vtuber_id)
    return or_(GachaCopy.vtuber_id == vtuber_id, GachaCopy.gacha_id.in_(party))


async def of_vtuber(session: AsyncSession, vtuber_id: str) -> list[GachaCopy]:
    found = await session.scalars(
        select(GachaCopy)
        .where(_of_vtuber(vtuber_id))
        .order_by(GachaCopy.changed_at.desc(), GachaCopy.gacha_id)
        .limit(MAX_GACHAS)
    )
    return list(found)


def _live(now: datetime):  # type: ignore[no-untyped-def]
    """Approved and running at ``now``: started (or without a start), not ended."""
    return (
        GachaCopy.status == "approved",
        or_(GachaCopy.starts_at.is_(None), GachaCopy.starts_at <= now),
        or_(GachaCopy.ends_at.is_(None), GachaCopy.ends_at > now),
    )


async def live_for(session: AsyncSession, vtuber_id: str, now: datetime) -> list[GachaCopy]:
    """Approved gachas this VTuber earns from, started at ``now`` and not ended."""
    party = select(GachaParty.gacha_id).where(GachaParty.vtuber_id == vtuber_id)
    found = await session.scalars(
        select(GachaCopy)
        .where(GachaCopy.gacha_id.in_(party), *_live(now))
        .order_by(GachaCopy.starts_at, GachaCopy.gacha_id)
        .limit(MAX_GACHAS)
    )
    return list(found)


async def live_counts(
    session: AsyncSession, vtuber_ids: Collection[str], now: datetime
) -> dict[str, int]:
    """How many gachas each of ``vtuber_ids`` earns from are live at ``now`` (one query)."""
    if not vtuber_ids:
        return {}
    rows = await session.execute(
        select(GachaParty.vtuber_id, func.count())
        .join(GachaCopy, GachaCopy.gacha_id == GachaParty.gacha_id)
        .where(GachaParty.vtuber_id.in_(list(vtuber_ids)), *_live(now))
        .group_by(GachaParty.vtuber_id)
    )
    return {vtuber_id: int(count) for vtuber_id, count in rows}
