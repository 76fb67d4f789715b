"""Contents' use cases: upload (through the service, or straight to storage and completed),
the team's list, retirement, public previews, and what other sub-domains read.

Every check runs before anything is written; a refusal leaves no object and no row. Once a row
exists (processing), a failure removes every object under the content's prefix and the row.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.kernel import jobs
from koepon.kernel.errors import DomainError, Unavailable
from koepon.kernel.pagination import decode_keyset, encode_keyset
from koepon.kernel.storage import ObjectNotFound, StorageError
from koepon.rewards.contents import audio, excerpts, images, repository, sniff
from koepon.rewards.contents.models import Content
from koepon.rewards.contents.policy import may_manage
from koepon.rewards.contents.schemas import (
    Actor,
    ContentOut,
    ContentPage,
    ContentView,
    DirectUploadIn,
    DirectUploadOut,
    PresignedUploadOut,
    Upload,
)
from koepon.rewards.contents.states import ContentStatus, may_move
from koepon.rewards.context import RewardsContext
from koepon.rewards.errors import (
    ContentNotFound,
    ContentStatusConflict,
    ContentTooLarge,
    ContentTypeMismatch,
    DecompressionBomb,
    DirectUploadUnavailable,
    ImageTooLarge,
    ImageUnreadable,
    InvalidUpload,
    NotAllowed,
    PolyglotRefused,
    UnsupportedContentType,
    UploadNotFinished,
)

log = structlog.get_logger(__name__)

MAX_TITLE = 200
# Direct uploads not completed this long after their URL expired are removed.
SWEEP_GRACE = timedelta(hours=1)
SWEEP_BATCH = 100
SWEEP_EVERY_SECONDS = 600.0
# The public excerpt of an audio content (with ffmpeg).
EXCERPT_SECONDS = 15
IMAGE_REFUSALS: dict[str, type[DomainError]] = {
    "image_too_large": ImageTooLarge,
    "decompression_bomb": DecompressionBomb,
    "image_unreadable": ImageUnreadable,
}


@dataclass(frozen=True)
class Checked:
    """A file that passed every check: what to store."""

    file_type: sniff.FileType
    original: bytes  # images: re-encoded without metadata
    checksum_sha256: str
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None
    preview: bytes | None = None
    preview_name: str | None = None  # e.g. preview.webp
    thumbnail: bytes | None = None
    thumbnail_name: str | None = None


@contextmanager
def _store_errors() -> Iterator[None]:
    """The object store failing is a 503 to retry, not a server error."""
    try:
        yield
    except ObjectNotFound:
        raise
    except StorageError as exc:
        raise Unavailable("The file store cannot be reached; try again", retry_after=5) from exc


def _prefix(vtuber_id: str, content_id: str) -> str:
    return f"contents/{vtuber_id}/{content_id}/"


def _title(raw: str | None) -> str:
    title = (raw or "").strip()
    if not title:
        raise InvalidUpload("A title is required", field="title")
    if len(title) > MAX_TITLE:
        raise InvalidUpload(f"The title is longer than {MAX_TITLE} characters", field="title")
    return title


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


def _out(row: Content) -> ContentOut:
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
    def __init__(self, ctx: RewardsContext) -> None:
        self.ctx = ctx

    # --- read by other sub-domains --------------------------------------------------------

    async def get_many(
        self, session: AsyncSession, content_ids: Collection[str]
    ) -> dict[str, ContentView]:
        """The contents with these ids that exist (any status), by id."""
        return {row.id: _view(row) for row in await repository.contents(session, content_ids)}

    async def original(self, content: ContentView) -> bytes:
        """The original file's bytes (private: only downloads and exports read it)."""
        return await self.ctx.storage.get(content.storage_key)

    # --- limits and checks (no I/O) ------------------------------------------------------

    def kind_limit(self, kind: str) -> int:
        settings = self.ctx.rewards_settings
        return {
            "image": settings.max_image_bytes,
            "audio": settings.max_audio_bytes,
            "video": settings.max_video_bytes,
            "pdf": settings.max_pdf_bytes,
        }[kind]

    def upload_limit(self, head: bytes | None) -> int:
        """The most bytes a file sent through the service may have: its kind's limit (once the
        first bytes tell the kind), never more than the direct-upload limit."""
        settings = self.ctx.rewards_settings
        kinds = ("image", "audio", "video", "pdf")
        widest = max(self.kind_limit(kind) for kind in kinds)
        if head is not None:
            try:
                found = sniff.sniff(head)
            except sniff.Ambiguous:
                found = None
            if found is not None:
                widest = self.kind_limit(found.kind)
        return min(widest, settings.max_direct_upload_bytes)

    def authorize(self, actor: Actor, vtuber_id: str) -> None:
        if not may_manage(actor.user_id, actor.roles, vtuber_id):
            raise NotAllowed("Only this VTuber's team manages its contents")

    def check(self, data: bytes, content_type: str | None, filename: str | None) -> Checked:
        """Every check of a file, in order: type from the bytes, the claim, the size, polyglots,
        image limits; then metadata stripped and previews made. CPU-bound: run in a thread."""
        if not data:
            raise InvalidUpload("The file is empty", field="file")
        try:
            found = sniff.sniff(data)
        except sniff.Ambiguous as exc:
            raise PolyglotRefused(f"The file's bytes are several types at once: {exc}") from exc
        if found is None:
            raise UnsupportedContentType(
                "The file's bytes are not an accepted type",
                accepted=sorted(t.mime_type for t in sniff.TYPES),
            )
        mismatch = sniff.claimed_mismatch(found, content_type, filename)
        if mismatch is not None:
            raise ContentTypeMismatch(mismatch, detected=found.mime_type)
        limit = self.kind_limit(found.kind)
        if len(data) > limit:
            raise ContentTooLarge(
                f"A {found.kind} file may have at most {limit} bytes", max_bytes=limit
            )
        reason = sniff.polyglot_reason(found, data)
        if reason is not None:
            raise PolyglotRefused(reason)
        if found.kind == "image":
            return self._image(found, data)
        if found == sniff.WAV:
            waveform = audio.wav_waveform(data, side=self.ctx.rewards_settings.preview_side)
            return Checked(
                found,
                data,
                hashlib.sha256(data).hexdigest(),
                duration_ms=audio.wav_duration_ms(data),
                preview=waveform,
                preview_name="preview.png" if waveform is not None else None,
            )
        return Checked(found, data, hashlib.sha256(data).hexdigest())

    def _image(self, found: sniff.FileType, data: bytes) -> Checked:
        settings = self.ctx.rewards_settings
        try:
            clean = images.clean(
                data,
                found.mime_type,
                max_pixels=settings.max_image_pixels,
                max_side=settings.max_image_side,
            )
        except images.ImageRefused as refused:
            extra: dict[str, Any] = dict(refused.extra)
            raise IMAGE_REFUSALS[refused.code](refused.detail, **extra) from refused
        made = images.previews(clean.data, found.mime_type, side=settings.preview_side)
        return Checked(
            found,
            clean.data,
            hashlib.sha256(clean.data).hexdigest(),
            width=clean.width,
            height=clean.height,
            preview=made.preview,
            preview_name="preview.webp",
            thumbnail=made.thumbnail,
            thumbnail_name="thumbnail.webp",
        )

    async def media_previews(self, checked: Checked) -> Checked:
        """With ffmpeg: an audio excerpt as the public preview (a WAV's waveform becomes the
        thumbnail), a video's blurred frame and sharp thumbnail, and the duration. Without it,
        or when ffmpeg cannot read the file, the checked file as it is."""
        kind = checked.file_type.kind
        if kind not in ("audio", "video") or not excerpts.available():
            return checked
        extension = checked.file_type.extension
        duration = checked.duration_ms or await excerpts.duration_ms(checked.original, extension)
        checked = replace(checked, duration_ms=duration)
        side = self.ctx.rewards_settings.preview_side
        if kind == "audio":
            clip = await excerpts.audio_excerpt(
                checked.original, extension, seconds=EXCERPT_SECONDS
            )
            if clip is None:
                return checked
            return replace(
                checked,
                preview=clip,
                preview_name="preview.mp3",
                thumbnail=checked.preview,
                thumbnail_name="thumbnail.png" if checked.preview is not None else None,
            )
        frame = await excerpts.video_frame(checked.original, extension, side=side)
        if frame is None:
            return checked
        made = await asyncio.to_thread(images.previews, frame, "image/png", side=side)
        return replace(
            checked,
            preview=made.preview,
            preview_name="preview.webp",
            thumbnail=made.thumbnail,
            thumbnail_name="thumbnail.webp",
        )

    # --- uploads -------------------------------------------------------------------------

    async def upload(self, actor: Actor, vtuber_id: str, upload: Upload) -> ContentOut:
        """A file sent through the service: checked, stored with its previews, ready."""
        self.authorize(actor, vtuber_id)
        title = _title(upload.title)
        checked = await asyncio.to_thread(
            self.check, upload.data, upload.content_type, upload.filename
        )
        checked = await self.media_previews(checked)
        content_id = str(uuid.uuid4())
        now = self.ctx.now()
        prefix = _prefix(vtuber_id, content_id)
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
            with _store_errors():
                return await self._store_and_ready(content_id, prefix, checked)
        except BaseException:
            # If the store is down this fails too and the row stays processing: the sweeper
            # removes it (and whatever was stored) later.
            await self._discard(content_id, prefix)
            raise

    async def _store_and_ready(self, content_id: str, prefix: str, checked: Checked) -> ContentOut:
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
            return _out(row)

    async def _discard(self, content_id: str, prefix: str) -> None:
        """Remove every object of the content and its row (a refused or failed upload)."""
        storage = self.ctx.storage
        for key in await storage.keys(prefix):
            await storage.delete(key)
        await storage.delete(prefix + "original")
        async with self.ctx.db.transaction() as session:
            await repository.remove(session, content_id)

    async def start_direct_upload(
        self, actor: Actor, vtuber_id: str, body: DirectUploadIn
    ) -> DirectUploadOut:
        """A presigned PUT for a large file, and the content waiting for it (processing)."""
        self.authorize(actor, vtuber_id)
        title = _title(body.title)
        media = body.content_type.split(";", 1)[0].strip().lower()
        declared = sniff.MIME_ALIASES.get(media)
        if declared is None:
            raise UnsupportedContentType(
                f"{media!r} is not an accepted type",
                accepted=sorted(t.mime_type for t in sniff.TYPES),
            )
        if body.filename and "." in body.filename:
            extension = body.filename.rsplit(".", 1)[1].lower()
            if declared not in sniff.EXTENSIONS.get(extension, frozenset()):
                raise ContentTypeMismatch(
                    f"The file is named .{extension} but declared as {declared.mime_type}"
                )
        limit = self.kind_limit(declared.kind)
        if body.size_bytes > limit:
            raise ContentTooLarge(
                f"A {declared.kind} file may have at most {limit} bytes", max_bytes=limit
            )
        content_id = str(uuid.uuid4())
        prefix = _prefix(vtuber_id, content_id)
        presigned = await self.ctx.storage.presigned_put(
            prefix + "original",
            expires_seconds=self.ctx.rewards_settings.upload_url_seconds,
            content_type=declared.mime_type,
        )
        if presigned is None:
            raise DirectUploadUnavailable(
                "This store cannot take direct uploads: send the file to "
                f"/api/v1/vtubers/{vtuber_id}/contents instead",
                max_bytes=self.ctx.rewards_settings.max_direct_upload_bytes,
            )
        now = self.ctx.now()
        row = Content(
            id=content_id,
            vtuber_id=vtuber_id,
            kind=declared.kind,
            title=title,
            mime_type=declared.mime_type,
            size_bytes=body.size_bytes,
            checksum_sha256="",
            storage_key=prefix + "original",
            preview_key=None,
            thumbnail_key=None,
            status=ContentStatus.PROCESSING,
            width=None,
            height=None,
            duration_ms=None,
            created_by=actor.user_id,
            created_at=now,
            updated_at=now,
        )
        async with self.ctx.db.transaction() as session:
            repository.add(session, row)
        return DirectUploadOut(
            content=_out(row),
            upload=PresignedUploadOut(
                url=presigned.url,
                method=presigned.method,
                headers=presigned.headers,
                expires_at=presigned.expires_at,
            ),
        )

    async def complete_direct_upload(
        self, actor: Actor, vtuber_id: str, content_id: str
    ) -> ContentOut:
        """Read the uploaded file back and check it like any upload: ready, or removed and
        refused. Completing a ready content again answers it unchanged."""
        self.authorize(actor, vtuber_id)
        async with self.ctx.db.transaction(read_only=True) as session:
            row = await repository.content(session, content_id)
            if row is None or row.vtuber_id != vtuber_id:
                raise ContentNotFound("No such content of this VTuber")
            if row.status != ContentStatus.PROCESSING:
                if row.status == ContentStatus.READY:
                    return _out(row)
                raise ContentStatusConflict(f"The content is {row.status}")
            declared_mime, declared_size, key = row.mime_type, row.size_bytes, row.storage_key
            limit = self.kind_limit(row.kind)
        storage = self.ctx.storage
        prefix = _prefix(vtuber_id, content_id)
        with _store_errors():
            size = await storage.size(key)
        if size is None:
            raise UploadNotFinished("The file has not reached the store yet: PUT it first")
        try:
            if size > limit or size > declared_size:
                raise ContentTooLarge(
                    f"The uploaded file has {size} bytes; at most {min(limit, declared_size)} "
                    "were announced and allowed",
                    max_bytes=min(limit, declared_size),
                )
            with _store_errors():
                data = await storage.get(key)
            if len(data) > limit:
                raise ContentTooLarge(f"At most {limit} bytes are allowed", max_bytes=limit)
            checked = await asyncio.to_thread(self.check, data, declared_mime, None)
            checked = await self.media_previews(checked)
            with _store_errors():
                return await self._store_and_ready(content_id, prefix, checked)
        except BaseException:
            await self._discard(content_id, prefix)
            raise

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
        self.authorize(actor, vtuber_id)
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
        return ContentPage(items=[_out(row) for row in page], next_cursor=next_cursor)

    async def retire(
        self, session: AsyncSession, actor: Actor, vtuber_id: str, content_id: str
    ) -> ContentOut:
        """No longer offered (fans keep what they own). Retiring again answers the same."""
        self.authorize(actor, vtuber_id)
        row = await repository.content(session, content_id, lock=True)
        if row is None or row.vtuber_id != vtuber_id:
            raise ContentNotFound("No such content of this VTuber")
        if row.status == ContentStatus.RETIRED:
            return _out(row)
        if not may_move(row.status, ContentStatus.RETIRED):
            raise ContentStatusConflict(
                f"A {row.status} content cannot be retired", status=row.status
            )
        row.status = ContentStatus.RETIRED
        row.updated_at = self.ctx.now()
        return _out(row)

    # --- abandoned direct uploads ------------------------------------------------------------

    async def sweep_abandoned_uploads(self) -> int:
        """Remove contents still processing well after their upload URL expired (the client
        never completed them): their objects, then their rows. Returns how many."""
        grace = timedelta(seconds=self.ctx.rewards_settings.upload_url_seconds) + SWEEP_GRACE
        async with self.ctx.db.transaction(read_only=True) as session:
            rows = await repository.abandoned(
                session, before=self.ctx.now() - grace, limit=SWEEP_BATCH
            )
            found = [(row.id, _prefix(row.vtuber_id, row.id)) for row in rows]
        for content_id, prefix in found:
            await self._discard(content_id, prefix)
        return len(found)

    async def sweep_forever(self) -> None:
        """The background loop of ``sweep_abandoned_uploads`` (a failed round is logged)."""
        while True:
            try:
                removed = await self.sweep_abandoned_uploads()
                if removed:
                    log.info("contents.abandoned_uploads_removed", count=removed)
            except Exception as exc:
                log.warning("contents.sweep_failed", error=repr(exc))
            await jobs.pause(SWEEP_EVERY_SECONDS)

    # --- public previews -------------------------------------------------------------------

    async def preview(self, session: AsyncSession, content_id: str) -> tuple[bytes, str, str]:
        """The public preview of a ready content: (bytes, media type, checksum for the ETag)."""
        row = await repository.content(session, content_id)
        if row is None or row.status != ContentStatus.READY or row.preview_key is None:
            raise ContentNotFound("No preview for this content")
        try:
            with _store_errors():
                data = await self.ctx.storage.get(row.preview_key)
        except ObjectNotFound as exc:
            raise ContentNotFound("No preview for this content") from exc
        return data, _mime(row.preview_key), hashlib.sha256(data).hexdigest()[:32]


def _mime(key: str) -> str:
    if key.endswith(".mp3"):
        return "audio/mpeg"
    return "image/png" if key.endswith(".png") else "image/webp"
