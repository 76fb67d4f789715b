"""Contents' use cases: upload through the service, the team's list, retirement, public
previews, and what other sub-domains read. Storing a checked file and removing a failed one are
shared with direct uploads (``direct.py``); the checks are ``checks.py``'s.

Every check runs before anything is written; a refusal leaves no object and no row. Once a row
exists (processing), a failure removes every object under the content's prefix and the row.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.vtuber import VtuberUnavailable
from koepon.kernel.errors import Unavailable
from koepon.kernel.pagination import decode_keyset, encode_keyset
from koepon.kernel.storage import ObjectNotFound, StorageError
from koepon.rewards.contents import repository
from koepon.rewards.contents.checks import Checked, FileChecks, checked_title
from koepon.rewards.contents.models import Content
from koepon.rewards.contents.policy import ContentStep, may_manage
from koepon.rewards.contents.schemas import (
    Actor,
    ContentOut,
    ContentPage,
    ContentView,
    Upload,
)
from koepon.rewards.contents.states import ContentStatus, may_move
from koepon.rewards.context import RewardsContext
from koepon.rewards.errors import (
    ContentNotFound,
    ContentStatusConflict,
    NotAllowed,
    UploadsRateLimited,
    VtuberServiceUnavailable,
)


@contextmanager
def store_errors() -> Iterator[None]:
    """The object store failing is a 503 to retry, not a server error."""
    try:
        yield
    except ObjectNotFound:
        raise
    except StorageError as exc:
        raise Unavailable("The file store cannot be reached; try again", retry_after=5) from exc


def content_prefix(vtuber_id: str, content_id: str) -> str:
    return f"contents/{vtuber_id}/{content_id}/"


def _view(row: Content) -> ContentView:
    return ContentView(
        id=row.id,
        vtuber_id=row.vtuber_id,
        kind=row.kind,
        title=row.title,
        mime_type=row.mime_type,
        status=row.status,
        size_bytes=row.size_bytes,
        checksum_sha256=row.checksum_sha256,
        storage_key=row.storage_key,
        preview_key=row.preview_key,
        thumbnail_key=row.thumbnail_key,
        created_at=row.created_at,
        width=row.width,
        height=row.height,
        duration_ms=row.duration_ms,
        updated_at=row.updated_at,
    )


def content_out(row: Content) -> ContentOut:
    ready = row.status == ContentStatus.READY and row.preview_key is not None
    return ContentOut(
        id=row.id,
        vtuber_id=row.vtuber_id,
        kind=row.kind,
        title=row.title,
        mime_type=row.mime_type,
        status=row.status,
        size_bytes=row.size_bytes,
        checksum_sha256=row.checksum_sha256,
        width=row.width,
        height=row.height,
        duration_ms=row.duration_ms,
        preview_url=f"/api/v1/previews/{row.id}" if ready else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class Contents:
    def __init__(self, ctx: RewardsContext, checks: FileChecks | None = None) -> None:
        self.ctx = ctx
        self.checks = checks if checks is not None else FileChecks(ctx)

    # --- read by other sub-domains --------------------------------------------------------

    async def get_many(
        self, session: AsyncSession, content_ids: Collection[str]
    ) -> dict[str, ContentView]:
        """The contents with these ids that exist (any status), by id."""
        return {row.id: _view(row) for row in await repository.contents(session, content_ids)}

    async def original(self, content: ContentView) -> bytes:
        """The original file's bytes (private: only downloads and exports read it)."""
        return await self.ctx.storage.get(content.storage_key)

    # --- limits, authorization ----------------------------------------------------------

    def upload_limit(self, head: bytes | None) -> int:
        """The most bytes a file sent through the service may have (``FileChecks``)."""
        return self.checks.upload_limit(head)

    async def admit_upload(self, vtuber_id: str) -> None:
        """Count one upload of ``vtuber_id``'s team against the hourly limit (before any byte of
        the file is read); ``UploadsRateLimited`` (429, Retry-After) past it."""
        limit = f"{self.ctx.rewards_settings.uploads_per_hour}/hour"
        allowed, retry_after = await self.ctx.rate_limiter.hit(limit, "rewards-upload", vtuber_id)
        if not allowed:
            raise UploadsRateLimited(
                f"This VTuber's team started too many uploads ({limit}); try again in "
                f"{retry_after} s",
                retry_after,
            )

    async def authorize(
        self, actor: Actor, vtuber_id: str, step: ContentStep = ContentStep.UPLOAD
    ) -> None:
        """Refuse (403) unless the VTuber service says ``actor`` may take ``step`` for
        ``vtuber_id``; 503 ``dependency_unavailable`` while it cannot be asked."""
        client = self.ctx.clients.vtuber
        try:
            if client is None:  # not in this process and no URL configured
                raise VtuberUnavailable("no VTuber service")
            permissions = await client.permissions(vtuber_id, actor.user_id, actor.roles)
        except VtuberUnavailable as exc:
            raise VtuberServiceUnavailable(
                "The VTuber service cannot say who may do this right now; try again shortly"
            ) from exc
        if not may_manage(permissions, step):
            raise NotAllowed(
                f"Only members of this VTuber's team allowed to {step} contents may do this"
            )

    # --- uploads -------------------------------------------------------------------------

    async def upload(self, actor: Actor, vtuber_id: str, upload: Upload) -> ContentOut:
        """A file sent through the service: checked, stored with its previews, ready."""
        await self.authorize(actor, vtuber_id)
        title = checked_title(upload.title)
        checked = await asyncio.to_thread(
            self.checks.check, upload.data, upload.content_type, upload.filename
        )
        checked = await self.checks.media_previews(checked)
        content_id = str(uuid.uuid4())
        now = self.ctx.now()
        prefix = content_prefix(vtuber_id, content_id)
        row = Content(
            id=content_id,
            vtuber_id=vtuber_id,
            kind=checked.file_type.kind,
            title=title,
            mime_type=checked.file_type.mime_type,
            size_bytes=len(checked.original),
            checksum_sha256=checked.checksum_sha256,
            storage_key=prefix + "original",
            preview_key=None,
            thumbnail_key=None,
            status=ContentStatus.PROCESSING,
            width=checked.width,
            height=checked.height,
            duration_ms=checked.duration_ms,
            created_by=actor.user_id,
            created_at=now,
            updated_at=now,
        )
        async with self.ctx.db.transaction() as session:
            repository.add(session, row)
        try:
            with store_errors():
                return await self.store_and_ready(content_id, prefix, checked)
        except BaseException:
            # If the store is down this fails too and the row stays processing: the sweeper
            # removes it (and whatever was stored) later.
            await self.discard(content_id, prefix)
            raise

    async def store_and_ready(self, content_id: str, prefix: str, checked: Checked) -> ContentOut:
        """Store a checked file and its previews, then the content is ready (uploads through the
        service and direct ones)."""
        storage = self.ctx.storage
        await storage.put(
            prefix + "original", checked.original, content_type=checked.file_type.mime_type
        )
        preview_key = thumbnail_key = None
        if checked.preview is not None and checked.preview_name is not None:
            preview_key = prefix + checked.preview_name
            await storage.put(preview_key, checked.preview, content_type=_mime(preview_key))
            if preview_key.endswith(".png"):
                thumbnail_key = preview_key  # a waveform shows nothing to hide
        if checked.thumbnail is not None and checked.thumbnail_name is not None:
            thumbnail_key = prefix + checked.thumbnail_name
            await storage.put(thumbnail_key, checked.thumbnail, content_type=_mime(thumbnail_key))
        async with self.ctx.db.transaction() as session:
            row = await repository.content(session, content_id, lock=True)
            if row is None or not may_move(row.status, ContentStatus.READY):
                raise ContentStatusConflict("The content is no longer being processed")
            row.status = ContentStatus.READY
            row.mime_type = checked.file_type.mime_type
            row.kind = checked.file_type.kind
            row.size_bytes = len(checked.original)
            row.checksum_sha256 = checked.checksum_sha256
            row.width = checked.width
            row.height = checked.height
            row.duration_ms = checked.duration_ms
            row.preview_key = preview_key
            row.thumbnail_key = thumbnail_key
            row.updated_at = self.ctx.now()
            return content_out(row)

    async def discard(self, content_id: str, prefix: str) -> None:
        """Remove every object of the content and its row (a refused or failed upload)."""
        storage = self.ctx.storage
        for key in await storage.keys(prefix):
            await storage.delete(key)
        await storage.delete(prefix + "original")
        async with self.ctx.db.transaction() as session:
            await repository.remove(session, content_id)

    # --- the team's list, retirement -----------------------------------------------------

    async def team_contents(
        self,
        session: AsyncSession,
        actor: Actor,
        vtuber_id: str,
        *,
        status: ContentStatus | None,
        limit: int,
        cursor: str | None,
    ) -> ContentPage:
        await self.authorize(actor, vtuber_id, ContentStep.LIST)
        after = decode_keyset(cursor) if cursor else None
        rows = await repository.of_vtuber(
            session,
            vtuber_id,
            limit=limit + 1,
            after=after,
            statuses=[status] if status is not None else None,
        )
        page = rows[:limit]
        next_cursor = encode_keyset(page[-1].created_at, page[-1].id) if len(rows) > limit else None
        return ContentPage(items=[content_out(row) for row in page], next_cursor=next_cursor)

    async def retire(
        self, session: AsyncSession, actor: Actor, vtuber_id: str, content_id: str
    ) -> ContentOut:
        """No longer offered (fans keep what they own). Retiring again answers the same."""
        await self.authorize(actor, vtuber_id, ContentStep.RETIRE)
        row = await repository.content(session, content_id, lock=True)
        if row is None or row.vtuber_id != vtuber_id:
            raise ContentNotFound("No such content of this VTuber")
        if row.status == ContentStatus.RETIRED:
            return content_out(row)
        if not may_move(row.status, ContentStatus.RETIRED):
            raise ContentStatusConflict(
                f"A {row.status} content cannot be retired", status=row.status
            )
        row.status = ContentStatus.RETIRED
        row.updated_at = self.ctx.now()
        return content_out(row)

    # --- public previews -------------------------------------------------------------------

    async def preview(self, session: AsyncSession, content_id: str) -> tuple[bytes, str, str]:
        """The public preview of a ready content: (bytes, media type, checksum for the ETag)."""
        row = await repository.content(session, content_id)
        if row is None or row.status != ContentStatus.READY or row.preview_key is None:
            raise ContentNotFound("No preview for this content")
        try:
            with store_errors():
                data = await self.ctx.storage.get(row.preview_key)
        except ObjectNotFound as exc:
            raise ContentNotFound("No preview for this content") from exc
        return data, _mime(row.preview_key), hashlib.sha256(data).hexdigest()[:32]


def _mime(key: str) -> str:
    if key.endswith(".mp3"):
        return "audio/mpeg"
    return "image/png" if key.endswith(".png") else "image/webp"
