"""Queries of ``vtuber_overlay_keys`` only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.vtuber.overlays.models import OverlayKey


async def of_vtuber(session: AsyncSession, vtuber_id: str) -> OverlayKey | None:
    return await session.get(OverlayKey, vtuber_id)


async def by_digest(session: AsyncSession, token_sha256: str) -> OverlayKey | None:
    query = select(OverlayKey).where(OverlayKey.token_sha256 == token_sha256)
    return (await session.scalars(query.limit(1))).first()


async def replace(
    session: AsyncSession,
    *,
    vtuber_id: str,
    token_sha256: str,
    token_hint: str,
    created_by: str,
    created_at: datetime,
) -> None:
    """The VTuber's one token, inserted or overwritten in one statement (two concurrent
    rotations both succeed; the later one's token is the live one)."""
    insert_ = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = {
        "token_sha256": token_sha256,
        "token_hint": token_hint,
        "created_by": created_by,
        "created_at": created_at,
    }
    stmt = insert_(OverlayKey).values(vtuber_id=vtuber_id, **values)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=[OverlayKey.vtuber_id], set_=values)
    )
