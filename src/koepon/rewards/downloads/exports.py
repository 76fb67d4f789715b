"""The fan's collection archive (their permanent copy): a ZIP of every live entitlement's file
(images watermarked per fan, each mark logged as an ``export_item`` download) and a
``manifest.json`` (ids, titles, serials, checksums), stored under ``exports/{user}/{id}.zip``
and answered with a signed URL bound to the export.

The archive is written to a temporary file one entry at a time, so memory holds one file (and,
because the storage port takes bytes, the finished archive once while it is stored). Nothing is
held in a database transaction while the archive is built.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import tempfile
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from koepon.kernel.storage import check_key
from koepon.rewards.contents.schemas import ContentView
from koepon.rewards.context import RewardsContext
from koepon.rewards.downloads import repository, tokens, watermark
from koepon.rewards.downloads.models import DownloadRow, ExportRow
from koepon.rewards.downloads.schemas import ExportLink
from koepon.rewards.downloads.service import (
    IMAGE,
    KIND_EXPORT,
    KIND_EXPORT_ITEM,
    SERVABLE,
    Downloads,
    file_name,
    new_watermark_id,
)
from koepon.rewards.entitlements.schemas import EntitlementView
from koepon.rewards.errors import DownloadLinkExpired, ExportNotFound, ExportsRateLimited

ARCHIVE_KEEP = timedelta(days=1)
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class _Built:
    path: str
    files: int
    size_bytes: int
    checksum_sha256: str
    items: list[DownloadRow]


def _add(path: str, name: str, data: bytes) -> None:
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(name, data)


def _digest(path: str) -> tuple[int, str]:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return os.path.getsize(path), digest.hexdigest()


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


class Exports:
    def __init__(self, ctx: RewardsContext, downloads: Downloads) -> None:
        self.ctx = ctx
        self.downloads = downloads

    async def export(self, user_id: str, ip: str, key: str | None = None) -> ExportLink:
        """Build, store and link the fan's archive (rate-limited per fan and day). With an
        ``Idempotency-Key`` already used by this fan, a new link to that archive instead (the
        replay neither builds another nor counts against the day's exports)."""
        if key is not None:
            async with self.ctx.db.transaction(read_only=True) as session:
                done = await repository.export_by_key(session, user_id, key)
            if done is not None:
                return await self.relink(user_id, done.id, ip)
        await self.downloads.throttle(
            f"{self.ctx.rewards_settings.exports_per_day}/day",
            "rewards-export",
            user_id,
            "collection exports",
            ExportsRateLimited,
        )
        async with self.ctx.db.transaction(read_only=True) as session:
            owned = await self.downloads.entitlements.all_live(session, user_id)
            contents = await self.downloads.contents.get_many(
                session, sorted({e.content_id for e in owned})
            )
        export_id = str(uuid.uuid4())
        now = self.ctx.now()
        ip_hash = self.downloads.ip_hash(ip)
        fd, path = tempfile.mkstemp(prefix="koepon-export-", suffix=".zip")
        os.close(fd)
        try:
            built = await self._build(path, export_id, user_id, owned, contents, now, ip_hash)
            archive_key = check_key(f"exports/{user_id}/{export_id}.zip")
            await self.ctx.storage.put(
                archive_key,
                await asyncio.to_thread(_read, built.path),
                content_type="application/zip",
            )
        finally:
            os.unlink(path)
        expires = self.downloads.url_expiry(now)
        link_row = DownloadRow(
            id=str(uuid.uuid4()),
            kind=KIND_EXPORT,
            user_id=user_id,
            entitlement_id=None,
            content_id=None,
            export_id=export_id,
            watermark_id=None,
            content_hash=None,
            ip_hash=ip_hash,
            issued_at=now,
            expires_at=expires,
            fetches=0,
        )
        row = ExportRow(
            id=export_id,
            user_id=user_id,
            storage_key=archive_key,
            files=built.files,
            size_bytes=built.size_bytes,
            checksum_sha256=built.checksum_sha256,
            created_at=now,
            expires_at=now + ARCHIVE_KEEP,
            idempotency_key=key,
        )
        try:
            async with self.ctx.db.transaction() as session:
                await repository.add_export(session, row)
                await repository.add_downloads(session, [*built.items, link_row])
        except IntegrityError:
            # The same key's twin request stored its archive first: answer that one.
            await self.ctx.storage.delete(archive_key)
            if key is None:
                raise
            async with self.ctx.db.transaction(read_only=True) as session:
                first = await repository.export_by_key(session, user_id, key)
            if first is None:
                raise
            return await self.relink(user_id, first.id, ip)
        return self._link(row, link_row)

    async def relink(self, user_id: str, export_id: str, ip: str) -> ExportLink:
        """A new URL for an archive still kept (only its owner's)."""
        await self.downloads.throttle(
            f"{self.ctx.rewards_settings.downloads_per_minute}/minute",
            "rewards-download",
            user_id,
            "download URLs",
        )
        now = self.ctx.now()
        async with self.ctx.db.transaction() as session:
            row = await repository.get_export(session, export_id)
            if row is None or row.user_id != user_id:
                raise ExportNotFound("No such export")
            if row.deleted_at is not None or row.expires_at <= now:
                raise DownloadLinkExpired("This archive is no longer kept; ask for a new export")
            link_row = DownloadRow(
                id=str(uuid.uuid4()),
                kind=KIND_EXPORT,
                user_id=user_id,
                entitlement_id=None,
                content_id=None,
                export_id=export_id,
                watermark_id=None,
                content_hash=None,
                ip_hash=self.downloads.ip_hash(ip),
                issued_at=now,
                expires_at=self.downloads.url_expiry(now),
                fetches=0,
            )
            await repository.add_downloads(session, [link_row])
        return self._link(row, link_row)

    def _link(self, row: ExportRow, link_row: DownloadRow) -> ExportLink:
        link = self.downloads.link(
            tokens.DownloadClaims(
                kind=tokens.Kind.EXPORT,
                download_id=link_row.id,
                subject_id=row.id,
                user_id=row.user_id,
                content_id="",
                expires_at=int(link_row.expires_at.timestamp()),
            )
        )
        return ExportLink(
            url=link.url,
            expires_at=link.expires_at,
            export_id=row.id,
            files=row.files,
            size_bytes=row.size_bytes,
            checksum_sha256=row.checksum_sha256,
            archive_expires_at=row.expires_at,
        )

    async def _build(
        self,
        path: str,
        export_id: str,
        user_id: str,
        owned: list[EntitlementView],
        contents: dict[str, ContentView],
        now: datetime,
        ip_hash: str,
    ) -> _Built:
        entries: list[dict[str, Any]] = []
        items: list[DownloadRow] = []
        used: set[str] = set()
        for entitlement in owned:
            content = contents.get(entitlement.content_id)
            if content is None or content.status not in SERVABLE:
                continue
            original = await self.downloads.contents.original(content)
            data, mime, watermarked = original, content.mime_type, False
            if content.kind == IMAGE:
                watermark_id = new_watermark_id()
                marked = await self.downloads.mark(original, watermark_id)
                data, mime, watermarked = marked.data, marked.mime_type, True
                content_hash = await asyncio.to_thread(watermark.perceptual_hash, original)
                items.append(
                    DownloadRow(
                        id=str(uuid.uuid4()),
                        kind=KIND_EXPORT_ITEM,
                        user_id=user_id,
                        entitlement_id=entitlement.id,
                        content_id=content.id,
                        export_id=export_id,
                        watermark_id=watermark_id,
                        content_hash=content_hash,
                        ip_hash=ip_hash,
                        issued_at=now,
                        expires_at=now + ARCHIVE_KEEP,
                        fetches=0,
                    )
                )
            name = "files/" + file_name(content.title, mime, entitlement.id[:8])
            while name in used:
                name = name.replace("files/", "files/x", 1)
            used.add(name)
            await asyncio.to_thread(_add, path, name, data)
            entries.append(
                {
                    "file": name,
                    "entitlement_id": entitlement.id,
                    "content_id": content.id,
                    "vtuber_id": entitlement.vtuber_id,
                    "item_id": entitlement.item_id,
                    "title": content.title,
                    "kind": content.kind,
                    "rarity": entitlement.rarity,
                    "count": entitlement.count,
                    "serial": entitlement.serial,
                    "serial_of": entitlement.serial_of,
                    "granted_at": entitlement.granted_at.isoformat(),
                    "mime_type": mime,
                    "size_bytes": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "original_sha256": content.checksum_sha256,
                    "watermarked": watermarked,
                }
            )
        manifest = {
            "version": MANIFEST_VERSION,
            "export_id": export_id,
            "user_id": user_id,
            "created_at": now.isoformat(),
            "files": entries,
        }
        await asyncio.to_thread(
            _add, path, "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2).encode()
        )
        size, checksum = await asyncio.to_thread(_digest, path)
        return _Built(path, len(entries), size, checksum, items)

    async def sweep(self, limit: int = 100) -> int:
        """Delete archives past their keep time; returns how many."""
        now = self.ctx.now()
        async with self.ctx.db.transaction(read_only=True) as session:
            expired = await repository.expired_exports(session, now, limit)
        for row in expired:
            await self.ctx.storage.delete(row.storage_key)
            async with self.ctx.db.transaction() as session:
                await repository.mark_export_deleted(session, row.id, now)
        return len(expired)
