"""Direct uploads: a presigned PUT straight to storage for a large file, its completion (the
file read back and checked like any upload), and the sweep of uploads never completed.

Storing a checked file and removing a failed one are ``Contents``' (shared with uploads through
the service); the checks are ``FileChecks``'.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import structlog

from koepon.kernel import jobs
from koepon.rewards.contents import repository, sniff
from koepon.rewards.contents.checks import FileChecks, checked_title
from koepon.rewards.contents.models import Content
from koepon.rewards.contents.schemas import (
    Actor,
    ContentOut,
    DirectUploadIn,
    DirectUploadOut,
    PresignedUploadOut,
)
from koepon.rewards.contents.service import Contents, content_out, content_prefix, store_errors
from koepon.rewards.contents.states import ContentStatus
from koepon.rewards.context import RewardsContext
from koepon.rewards.errors import (
    ContentNotFound,
    ContentStatusConflict,
    ContentTooLarge,
    ContentTypeMismatch,
    DirectUploadUnavailable,
    UnsupportedContentType,
    UploadNotFinished,
)

log = structlog.get_logger(__name__)

# Direct uploads not completed this long after their URL expired are removed.
SWEEP_GRACE = timedelta(hours=1)
SWEEP_BATCH = 100
SWEEP_EVERY_SECONDS = 600.0


class DirectUploads:
    def __init__(self, ctx: RewardsContext, checks: FileChecks, contents: Contents) -> None:
        self.ctx = ctx
        self.checks = checks
        self.contents = contents

    async def start_direct_upload(
        self, actor: Actor, vtuber_id: str, body: DirectUploadIn
    ) -> DirectUploadOut:
        """A presigned PUT for a large file, and the content waiting for it (processing)."""
        await self.contents.authorize(actor, vtuber_id)
        await self.contents.admit_upload(vtuber_id)
        title = checked_title(body.title)
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
        limit = self.checks.kind_limit(declared.kind)
        if body.size_bytes > limit:
            raise ContentTooLarge(
                f"A {declared.kind} file may have at most {limit} bytes", max_bytes=limit
            )
        content_id = str(uuid.uuid4())
        prefix = content_prefix(vtuber_id, content_id)
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
            content=content_out(row),
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
        await self.contents.authorize(actor, vtuber_id)
        async with self.ctx.db.transaction(read_only=True) as session:
            row = await repository.content(session, content_id)
            if row is None or row.vtuber_id != vtuber_id:
                raise ContentNotFound("No such content of this VTuber")
            if row.status != ContentStatus.PROCESSING:
                if row.status == ContentStatus.READY:
                    return content_out(row)
                raise ContentStatusConflict(f"The content is {row.status}")
            declared_mime, declared_size, key = row.mime_type, row.size_bytes, row.storage_key
            limit = self.checks.kind_limit(row.kind)
        storage = self.ctx.storage
        prefix = content_prefix(vtuber_id, content_id)
        with store_errors():
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
            with store_errors():
                data = await storage.get(key)
            if len(data) > limit:
                raise ContentTooLarge(f"At most {limit} bytes are allowed", max_bytes=limit)
            checked = await asyncio.to_thread(self.checks.check, data, declared_mime, None)
            checked = await self.checks.media_previews(checked)
            with store_errors():
                return await self.contents.store_and_ready(content_id, prefix, checked)
        except BaseException:
            await self.contents.discard(content_id, prefix)
            raise

    # --- abandoned direct uploads ------------------------------------------------------------

    async def sweep_abandoned_uploads(self) -> int:
        """Remove contents still processing well after their upload URL expired (the client
        never completed them): their objects, then their rows. Returns how many."""
        grace = timedelta(seconds=self.ctx.rewards_settings.upload_url_seconds) + SWEEP_GRACE
        async with self.ctx.db.transaction(read_only=True) as session:
            rows = await repository.abandoned(
                session, before=self.ctx.now() - grace, limit=SWEEP_BATCH
            )
            found = [(row.id, content_prefix(row.vtuber_id, row.id)) for row in rows]
        for content_id, prefix in found:
            await self.contents.discard(content_id, prefix)
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
