"""Contents' limits and checks: a file's type read from its bytes, the claim, the size, polyglots,
image limits, metadata stripped and previews made (uploads through the service and direct ones
run the same checks). Every check runs before anything is written.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, replace
from typing import Any

from koepon.kernel.errors import DomainError
from koepon.rewards.contents import audio, excerpts, images, sniff
from koepon.rewards.context import RewardsContext
from koepon.rewards.errors import (
    ContentTooLarge,
    ContentTypeMismatch,
    DecompressionBomb,
    ImageTooLarge,
    ImageUnreadable,
    InvalidUpload,
    PolyglotRefused,
    UnsupportedContentType,
)

MAX_TITLE = 200
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


def checked_title(raw: str | None) -> str:
    """A content's title: required, stripped, at most ``MAX_TITLE`` characters."""
    title = (raw or "").strip()
    if not title:
        raise InvalidUpload("A title is required", field="title")
    if len(title) > MAX_TITLE:
        raise InvalidUpload(f"The title is longer than {MAX_TITLE} characters", field="title")
    return title


class FileChecks:
    """The limits (read from the rewards settings each time) and every check of a file."""

    def __init__(self, ctx: RewardsContext) -> None:
        self.ctx = ctx

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
