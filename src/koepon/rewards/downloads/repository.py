"""Queries of the downloads tables only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.rewards.downloads.models import DownloadFetchRow, DownloadRow, ExportRow


async def add_downloads(session: AsyncSession, rows: Sequence[DownloadRow]) -> None:
    session.add_all(rows)
    await session.flush()


async def get_download(session: AsyncSession, download_id: str) -> DownloadRow | None:
    return await session.get(DownloadRow, download_id)


async def record_fetch(
    session: AsyncSession, row: DownloadRow, *, at: datetime, ip_hash: str, outcome: str
) -> None:
    session.add(
        DownloadFetchRow(
            download_id=row.id, user_id=row.user_id, fetched_at=at, ip_hash=ip_hash, outcome=outcome
        )
    )
    await session.execute(
        update(DownloadRow)
        .where(DownloadRow.id == row.id)
        .values(fetches=DownloadRow.fetches + 1, last_fetched_at=at)
    )


async def fetches_of(session: AsyncSession, download_id: str) -> list[DownloadFetchRow]:
    result = await session.scalars(
        select(DownloadFetchRow)
        .where(DownloadFetchRow.download_id == download_id)
        .order_by(DownloadFetchRow.id)
    )
    return list(result)


async def set_content_hash(session: AsyncSession, content_id: str, content_hash: str) -> None:
    """Remember the original's hash on every marked download of the content lacking it."""
    await session.execute(
        update(DownloadRow)
        .where(DownloadRow.content_id == content_id, DownloadRow.content_hash.is_(None))
        .values(content_hash=content_hash)
    )


async def marked_downloads(session: AsyncSession) -> list[DownloadRow]:
    """Every download that carries an invisible mark (the leak tracer's candidates)."""
    result = await session.scalars(
        select(DownloadRow).where(DownloadRow.watermark_id.is_not(None)).order_by(DownloadRow.id)
    )
    return list(result)


async def add_export(session: AsyncSession, row: ExportRow) -> None:
    session.add(row)
    await session.flush()


async def get_export(session: AsyncSession, export_id: str) -> ExportRow | None:
    return await session.get(ExportRow, export_id)


async def export_by_key(session: AsyncSession, user_id: str, key: str) -> ExportRow | None:
    result = await session.scalars(
        select(ExportRow).where(ExportRow.user_id == user_id, ExportRow.idempotency_key == key)
    )
    return result.first()


async def expired_exports(session: AsyncSession, now: datetime, limit: int) -> list[ExportRow]:
    result = await session.scalars(
        select(ExportRow)
        .where(ExportRow.expires_at <= now, ExportRow.deleted_at.is_(None))
        .order_by(ExportRow.expires_at)
        .limit(limit)
    )
    return list(result)


async def mark_export_deleted(session: AsyncSession, export_id: str, at: datetime) -> None:
    await session.execute(update(ExportRow).where(ExportRow.id == export_id).values(deleted_at=at))
