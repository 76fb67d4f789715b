"""Downloads' use cases: issue a signed URL for a fan's own live entitlement, serve it (images
watermarked per fan), and log every issue and every fetch.

A URL is ``/api/v1/downloads/{token}`` (``tokens.py``); the token is the credential, so the
link works in a browser without the fan's access token, but only for what was issued to that
fan, until it expires, and only while the entitlement is still live (re-checked at each fetch).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.kernel.errors import DomainError
from koepon.rewards.contents.schemas import ContentView
from koepon.rewards.context import RewardsContext
from koepon.rewards.downloads import repository, tokens, watermark
from koepon.rewards.downloads.keys import load_signing_key
from koepon.rewards.downloads.models import DownloadRow, ExportRow
from koepon.rewards.downloads.schemas import DownloadLink, Served
from koepon.rewards.entitlements.schemas import EntitlementView
from koepon.rewards.errors import (
    ContentNotFound,
    DownloadLinkExpired,
    DownloadLinkInvalid,
    DownloadsRateLimited,
)

URL_PREFIX = "/api/v1/downloads/"
IMAGE = "image"
KIND_ENTITLEMENT = "entitlement"
KIND_EXPORT = "export"
KIND_EXPORT_ITEM = "export_item"
ARCHIVE_MIME = "application/zip"
MARKING_AT_ONCE = 2
# Fetches a fan may make per minute, as a multiple of the URLs they may ask for.
FETCHES_PER_URL = 3
# Content states whose file is still delivered to its owners (a retired content stays theirs).
SERVABLE = frozenset({"ready", "retired"})
_EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "audio/mpeg": "mp3",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/ogg": "ogg",
    "audio/mp4": "m4a",
    "audio/x-m4a": "m4a",
    "video/mp4": "mp4",
    "video/webm": "webm",
    "application/pdf": "pdf",
}


class EntitlementSource(Protocol):
    """What downloads needs from entitlements (``entitlements.service.Entitlements``)."""

    async def for_download(
        self, session: AsyncSession, user_id: str, entitlement_id: str
    ) -> EntitlementView: ...

    async def all_live(self, session: AsyncSession, user_id: str) -> list[EntitlementView]: ...


class ContentSource(Protocol):
    """What downloads needs from contents (``contents.service.Contents``)."""

    async def get_many(
        self, session: AsyncSession, content_ids: Collection[str]
    ) -> dict[str, ContentView]: ...

    async def original(self, content: ContentView) -> bytes: ...


def new_watermark_id() -> str:
    """64 random bits, 16 hex digits."""
    return secrets.token_hex(8)


def file_name(title: str, mime_type: str, suffix: str) -> str:
    """A safe ASCII file name from the content's title (``content`` when nothing is left)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", title).strip("-._")[:60] or "content"
    extension = _EXTENSIONS.get(mime_type, "bin")
    return f"{stem}-{suffix}.{extension}"


class Downloads:
    def __init__(
        self, ctx: RewardsContext, entitlements: EntitlementSource, contents: ContentSource
    ) -> None:
        self.ctx = ctx
        self.entitlements = entitlements
        self.contents = contents
        master = load_signing_key(ctx.settings, ctx.rewards_settings)
        self.token_key = tokens.derive_key(master, "token")
        self.watermark_key = tokens.derive_key(master, "watermark")
        self.ip_key = tokens.derive_key(master, "ip")
        # Watermarking a large image holds a few copies of it in memory: a few at a time.
        self._marking = asyncio.Semaphore(MARKING_AT_ONCE)

    # --- shared by downloads and exports ------------------------------------------------------

    def ip_hash(self, ip: str) -> str:
        return hmac.new(self.ip_key, ip.encode(), hashlib.sha256).hexdigest()[:32]

    def url_expiry(self, now: datetime) -> datetime:
        seconds = int(now.timestamp()) + self.ctx.rewards_settings.download_url_seconds
        return datetime.fromtimestamp(seconds, now.tzinfo)

    def link(self, claims: tokens.DownloadClaims) -> DownloadLink:
        return DownloadLink(
            url=URL_PREFIX + tokens.sign(claims, self.token_key), expires_at=claims.expires
        )

    async def throttle(
        self,
        limit: str,
        scope: str,
        user_id: str,
        what: str,
        error: type[DownloadsRateLimited] = DownloadsRateLimited,
    ) -> None:
        allowed, retry_after = await self.ctx.rate_limiter.hit(limit, scope, user_id)
        if not allowed:
            raise error(
                f"Too many {what} asked ({limit}); try again in {retry_after} s", retry_after
            )

    async def mark(self, original: bytes, watermark_id: str) -> watermark.Marked:
        """The image with the fan's marks (CPU work off the event loop)."""
        async with self._marking:
            return await asyncio.to_thread(
                watermark.embed, original, self.watermark_key, watermark_id
            )

    # --- issuing ------------------------------------------------------------------------------

    async def issue(
        self, session: AsyncSession, user_id: str, entitlement_id: str, ip: str
    ) -> DownloadLink:
        """A URL for the fan's own live entitlement (rate-limited per fan)."""
        await self.throttle(
            f"{self.ctx.rewards_settings.downloads_per_minute}/minute",
            "rewards-download",
            user_id,
            "download URLs",
        )
        entitlement = await self.entitlements.for_download(session, user_id, entitlement_id)
        content = (await self.contents.get_many(session, [entitlement.content_id])).get(
            entitlement.content_id
        )
        if content is None or content.status not in SERVABLE:
            raise ContentNotFound("The file of this entitlement is not available")
        now = self.ctx.now()
        row = DownloadRow(
            id=str(uuid.uuid4()),
            kind=KIND_ENTITLEMENT,
            user_id=user_id,
            entitlement_id=entitlement.id,
            content_id=content.id,
            export_id=None,
            watermark_id=new_watermark_id() if content.kind == IMAGE else None,
            content_hash=None,
            ip_hash=self.ip_hash(ip),
            issued_at=now,
            expires_at=self.url_expiry(now),
            fetches=0,
        )
        await repository.add_downloads(session, [row])
        return self.link(
            tokens.DownloadClaims(
                kind=tokens.Kind.ENTITLEMENT,
                download_id=row.id,
                subject_id=entitlement.id,
                user_id=user_id,
                content_id=content.id,
                expires_at=int(row.expires_at.timestamp()),
            )
        )

    # --- fetching -----------------------------------------------------------------------------

    def claims(self, token: str) -> tokens.DownloadClaims:
        """The token's claims, even past their expiry (``fetch`` logs an expired fetch);
        ``DownloadLinkInvalid`` for anything not signed by us as it is."""
        try:
            return tokens.verify(token, self.token_key, self.ctx.now())
        except tokens.TokenInvalid:
            raise DownloadLinkInvalid(
                "This download link is not valid (altered or not issued by Koepon)"
            ) from None
        except tokens.TokenExpired as expired:
            return expired.claims

    async def fetch(self, token: str, ip: str) -> Served:
        """What a download URL serves, after re-checking it is still the owner's and live.
        Every fetch of a genuine link is logged, refused and expired ones too."""
        claims = self.claims(token)
        expired = self.ctx.now().timestamp() >= claims.expires_at
        if not expired:
            await self.throttle(
                f"{self.ctx.rewards_settings.downloads_per_minute * FETCHES_PER_URL}/minute",
                "rewards-fetch",
                claims.user_id,
                "downloads",
            )
        refusal: DomainError | None = None
        content: ContentView | None = None
        export: ExportRow | None = None
        async with self.ctx.db.transaction() as session:
            row = await repository.get_download(session, claims.download_id)
            if row is None or not _matches(row, claims):
                raise DownloadLinkInvalid("This download link is not valid")
            try:
                if expired:
                    raise DownloadLinkExpired(
                        "This download link has expired; ask for a new one from your collection"
                    )
                if claims.kind is tokens.Kind.EXPORT:
                    export = await self._kept_export(session, claims)
                else:
                    await self.entitlements.for_download(session, claims.user_id, claims.subject_id)
                    content = (await self.contents.get_many(session, [claims.content_id])).get(
                        claims.content_id
                    )
                    if content is None or content.status not in SERVABLE:
                        raise ContentNotFound("The file of this entitlement is not available")
            except DomainError as error:
                refusal = error
            outcome = "expired" if expired else "refused" if refusal else "served"
            await repository.record_fetch(
                session, row, at=self.ctx.now(), ip_hash=self.ip_hash(ip), outcome=outcome
            )
            watermark_id, known_hash = row.watermark_id, row.content_hash
        if refusal is not None:
            raise refusal
        if export is not None:
            return await self._serve_export(export, claims)
        assert content is not None
        if content.kind == IMAGE and watermark_id is not None:
            original = await self.contents.original(content)
            marked = await self.mark(original, watermark_id)
            if known_hash is None:
                digest = await asyncio.to_thread(watermark.perceptual_hash, original)
                async with self.ctx.db.transaction() as session:
                    await repository.set_content_hash(session, content.id, digest)
            return Served(
                filename=file_name(content.title, marked.mime_type, watermark_id[:8]),
                mime_type=marked.mime_type,
                data=marked.data,
            )
        name = file_name(content.title, content.mime_type, claims.download_id[:8])
        redirect = await self.ctx.storage.presigned_get(
            content.storage_key,
            expires_seconds=self._remaining(claims),
            filename=name,
            content_type=content.mime_type,
        )
        if redirect is not None:
            return Served(filename=name, mime_type=content.mime_type, redirect=redirect)
        return Served(
            filename=name, mime_type=content.mime_type, data=await self.contents.original(content)
        )

    def _remaining(self, claims: tokens.DownloadClaims) -> int:
        return max(1, claims.expires_at - int(self.ctx.now().timestamp()))

    async def _kept_export(self, session: AsyncSession, claims: tokens.DownloadClaims) -> ExportRow:
        export = await repository.get_export(session, claims.subject_id)
        if (
            export is None
            or export.user_id != claims.user_id
            or export.deleted_at is not None
            or export.expires_at <= self.ctx.now()
        ):
            raise DownloadLinkExpired("This archive is no longer kept; ask for a new export")
        return export

    async def _serve_export(self, export: ExportRow, claims: tokens.DownloadClaims) -> Served:
        name = f"koepon-collection-{export.created_at:%Y%m%d}-{export.id[:8]}.zip"
        redirect = await self.ctx.storage.presigned_get(
            export.storage_key,
            expires_seconds=self._remaining(claims),
            filename=name,
            content_type=ARCHIVE_MIME,
        )
        if redirect is not None:
            return Served(filename=name, mime_type=ARCHIVE_MIME, redirect=redirect)
        return Served(
            filename=name,
            mime_type=ARCHIVE_MIME,
            data=await self.ctx.storage.get(export.storage_key),
        )


def _matches(row: DownloadRow, claims: tokens.DownloadClaims) -> bool:
    """The logged download is the one the token names (a token is never re-bound)."""
    if row.user_id != claims.user_id:
        return False
    if claims.kind is tokens.Kind.EXPORT:
        return row.kind == KIND_EXPORT and row.export_id == claims.subject_id
    return (
        row.kind == KIND_ENTITLEMENT
        and row.entitlement_id == claims.subject_id
        and row.content_id == claims.content_id
    )
