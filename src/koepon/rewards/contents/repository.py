"""Queries of the contents table."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.rewards.contents.models import Content

Keyset = tuple[datetime, str]  # (created_at, id) of the last row of the previous page


async def content(session: AsyncSession, content_id: str, *, lock: bool = False) -> Content | None:
    if len(content_id) > 36:
        return None
    query = select(Content).where(Content.id == content_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def contents(session: AsyncSession, content_ids: Collection[str]) -> list[Content]:
    ids = [i for i in set(content_ids) if len(i) <= 36]
    if not ids:
        return []
    return list((await session.execute(select(Content).where(Content.id.in_(ids)))).scalars())


async def of_vtuber(
    session: AsyncSession,
    vtuber_id: str,
    *,
    limit: int,
    after: Keyset | None = None,
    statuses: Collection[str] | None = None,
) -> list[Content]:
    """A page of a VTuber's contents, newest first by (created_at, id)."""
    query = (
        select(Content)
        .where(Content.vtuber_id == vtuber_id)
        .order_by(Content.created_at.desc(), Content.id.desc())
        .limit(limit)
    )
    if statuses is not None:
        query = query.where(Content.status.in_(list(statuses)))
    if after is not None:
        moment, key = after
        query = query.where(
            (Content.created_at < moment) | ((Content.created_at == moment) & (Content.id < key))
        )
    return list((await session.execute(query)).scalars())


def add(session: AsyncSession, row: Content) -> None:
    session.add(row)


async def remove(session: AsyncSession, content_id: str) -> None:
    await session.execute(delete(Content).where(Content.id == content_id))


async def abandoned(session: AsyncSession, *, before: datetime, limit: int) -> list[Content]:
    """Contents still processing that were created before ``before`` (uploads never completed)."""
    query = (
        select(Content)
        .where(Content.status == "processing", Content.created_at < before)
        .order_by(Content.created_at)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())
