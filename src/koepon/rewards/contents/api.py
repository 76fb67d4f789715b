"""Contents' routes (API.md "VTuber studio"): uploads by the VTuber's team (through the service,
or straight to storage for large files), the team's list and retirement, public previews.

An upload's body is read as a stream and parsed as it arrives: reading stops as soon as the file
outgrows its kind's limit, so no body is ever buffered beyond the limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.kernel.pagination import KeysetCursor
from koepon.kernel.tokens import Principal
from koepon.rewards.contents.direct import DirectUploads
from koepon.rewards.contents.schemas import (
    Actor,
    ContentOut,
    ContentPage,
    DirectUploadIn,
    DirectUploadOut,
    Upload,
)
from koepon.rewards.contents.service import Contents
from koepon.rewards.contents.sniff import HEAD_BYTES
from koepon.rewards.contents.states import ContentStatus
from koepon.rewards.context import RewardsContext, provide
from koepon.rewards.errors import ContentTooLarge, InvalidUpload

VtuberId = Annotated[str, Path(pattern=r"^[0-9A-Za-z_-]{1,64}$")]
ContentId = Annotated[str, Path(pattern=r"^[0-9A-Za-z-]{1,36}$")]
Limit = Annotated[int, Query(ge=1, le=100)]

# Form fields other than the file are small (a title); the envelope (boundaries, part headers)
# is allowed this much on top of the file.
MAX_FIELD_BYTES = 4096
ENVELOPE_BYTES = 64 * 1024
PREVIEW_CACHE = "public, max-age=86400"

_UPLOAD_REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"description": "forbidden: no content.upload permission for this VTuber"},
    503: {"description": "dependency_unavailable: the VTuber service cannot be asked"},
    413: {"description": "content_too_large: over the kind's limit (reading stopped there)"},
    415: {"description": "content_type_mismatch, unsupported_content_type"},
    422: {
        "description": "polyglot_refused, image_too_large, decompression_bomb, "
        "image_unreadable, invalid_upload"
    },
}


def _actor(principal: Principal) -> Actor:
    return Actor(principal.user_id, frozenset(principal.roles))


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    content_type: str | None = None
    data: bytearray = field(default_factory=bytearray)
    headers: dict[bytes, bytes] = field(default_factory=dict)


class _FormReader:
    """Parses ``multipart/form-data`` chunk by chunk, holding at most the limits."""

    def __init__(self, boundary: bytes, contents: Contents) -> None:
        self.contents = contents
        self.parts: list[_Part] = []
        self.part = _Part()
        self.field_name = b""
        self.field_value = b""
        self.file_limit = contents.upload_limit(None)
        self.kind_known = False
        self.parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._data,
                "on_part_end": self._end,
            },
        )

    def _begin(self) -> None:
        self.part = _Part()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self.field_name += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self.field_value += data[start:end]

    def _header_end(self) -> None:
        self.part.headers[self.field_name.lower()] = self.field_value
        self.field_name = self.field_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self.part.headers.get(b"content-disposition", b""))
        self.part.name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in options:
            self.part.filename = options[b"filename"].decode("utf-8", "replace")
            if any(p.filename is not None for p in self.parts):
                raise InvalidUpload("Send one file per upload", field="file")
        if b"content-type" in self.part.headers:
            self.part.content_type = self.part.headers[b"content-type"].decode("latin-1")

    def _data(self, data: bytes, start: int, end: int) -> None:
        part = self.part
        part.data += data[start:end]
        if part.filename is None:
            if len(part.data) > MAX_FIELD_BYTES:
                raise InvalidUpload(
                    f"The form field {part.name!r} is longer than {MAX_FIELD_BYTES} bytes",
                    field=part.name,
                )
            return
        if not self.kind_known and len(part.data) >= HEAD_BYTES:
            self.file_limit = self.contents.upload_limit(bytes(part.data[:HEAD_BYTES]))
            self.kind_known = True
        if len(part.data) > self.file_limit:
            raise ContentTooLarge(
                f"The file is larger than {self.file_limit} bytes", max_bytes=self.file_limit
            )

    def _end(self) -> None:
        self.parts.append(self.part)
        self.part = _Part()

    def feed(self, chunk: bytes) -> None:
        self.parser.write(chunk)

    def upload(self) -> Upload:
        self.parser.finalize()
        files = [p for p in self.parts if p.filename is not None or p.name == "file"]
        if not files or not files[0].data:
            raise InvalidUpload("The form needs a non-empty 'file' part", field="file")
        titles = [p for p in self.parts if p.name == "title" and p.filename is None]
        file = files[0]
        if len(file.data) > self.contents.upload_limit(bytes(file.data[:HEAD_BYTES])):
            limit = self.contents.upload_limit(bytes(file.data[:HEAD_BYTES]))
            raise ContentTooLarge(f"The file is larger than {limit} bytes", max_bytes=limit)
        try:
            title = titles[0].data.decode("utf-8") if titles else None
        except UnicodeDecodeError as exc:
            raise InvalidUpload("The title is not UTF-8 text", field="title") from exc
        return Upload(
            title=title, data=bytes(file.data), content_type=file.content_type,
            filename=file.filename,
        )  # fmt: skip


async def read_upload(request: Request, contents: Contents) -> Upload:
    """The upload form, read as it streams in and refused the moment it outgrows a limit."""
    media, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if media != b"multipart/form-data" or not boundary:
        raise InvalidUpload(
            "Send the file as multipart/form-data with a 'file' part and a 'title' field"
        )
    ceiling = contents.upload_limit(None) + ENVELOPE_BYTES
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > ceiling:
        raise ContentTooLarge(f"The upload is larger than {ceiling} bytes", max_bytes=ceiling)
    reader = _FormReader(boundary, contents)
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > ceiling:
                raise ContentTooLarge(
                    f"The upload is larger than {ceiling} bytes", max_bytes=ceiling
                )
            reader.feed(chunk)
        return reader.upload()
    except MultipartParseError as exc:
        raise InvalidUpload(f"The multipart body cannot be read: {exc}") from exc


def build_router(
    ctx: RewardsContext, contents: Contents, direct_uploads: DirectUploads
) -> APIRouter:
    router = APIRouter(tags=["contents"])
    session_dep = Depends(ctx.db.session_dependency, scope="function")
    contents_dep = Depends(provide(contents))
    direct_dep = Depends(provide(direct_uploads))
    # Any signed-in account: whether it is on the VTuber's team, and with which permissions,
    # is the VTuber service's answer (asked by the use case).
    team = Depends(ctx.authenticator.user)

    async def may_upload(
        vtuber_id: VtuberId, principal: Principal = team, contents: Contents = contents_dep
    ) -> Principal:
        """Refuses a caller outside the team before the body is read."""
        await contents.authorize(_actor(principal), vtuber_id)
        return principal

    uploader = Depends(may_upload)

    @router.post(
        "/api/v1/vtubers/{vtuber_id}/contents",
        status_code=201,
        response_model=ContentOut,
        responses=_UPLOAD_REFUSALS,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file", "title"],
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "title": {"type": "string", "maxLength": 200},
                            },
                        }
                    }
                },
            }
        },
    )
    async def upload_content(
        vtuber_id: VtuberId,
        request: Request,
        principal: Principal = team,
        contents: Contents = contents_dep,
    ) -> ContentOut:
        """Upload a file (multipart: ``file`` and ``title``). The type is read from the bytes;
        images are decoded under limits and stored without metadata; previews are made."""
        actor = _actor(principal)
        await contents.authorize(actor, vtuber_id)  # before reading a byte of the body
        await contents.admit_upload(vtuber_id)
        upload = await read_upload(request, contents)
        return await contents.upload(actor, vtuber_id, upload)

    @router.post(
        "/api/v1/vtubers/{vtuber_id}/contents/uploads",
        status_code=201,
        response_model=DirectUploadOut,
        responses={
            409: {"description": "direct_upload_unavailable: the store cannot sign uploads"},
            413: {"description": "content_too_large"},
            415: {"description": "unsupported_content_type, content_type_mismatch"},
            429: {"description": "uploads_rate_limited (with Retry-After)"},
        },
    )
    async def start_direct_upload(
        vtuber_id: VtuberId,
        body: DirectUploadIn,
        principal: Principal = uploader,
        direct: DirectUploads = direct_dep,
    ) -> DirectUploadOut:
        """A presigned PUT for a large file; complete it once the file is uploaded."""
        return await direct.start_direct_upload(_actor(principal), vtuber_id, body)

    @router.post(
        "/api/v1/vtubers/{vtuber_id}/contents/uploads/{content_id}/complete",
        response_model=ContentOut,
        responses={
            409: {"description": "upload_not_finished, content_status_conflict"},
            **_UPLOAD_REFUSALS,
        },
    )
    async def complete_direct_upload(
        vtuber_id: VtuberId,
        content_id: ContentId,
        principal: Principal = team,
        direct: DirectUploads = direct_dep,
    ) -> ContentOut:
        """Check the uploaded file like any upload: ready, or removed and refused."""
        return await direct.complete_direct_upload(_actor(principal), vtuber_id, content_id)

    @router.get("/api/v1/vtubers/{vtuber_id}/contents", response_model=ContentPage)
    async def team_contents(
        vtuber_id: VtuberId,
        principal: Principal = team,
        session: AsyncSession = session_dep,
        contents: Contents = contents_dep,
        status: ContentStatus | None = None,
        cursor: KeysetCursor = None,
        limit: Limit = 50,
    ) -> ContentPage:
        """The VTuber's contents in every status (or one), newest first."""
        return await contents.team_contents(
            session, _actor(principal), vtuber_id, status=status, limit=limit, cursor=cursor
        )

    @router.post(
        "/api/v1/vtubers/{vtuber_id}/contents/{content_id}/retire",
        response_model=ContentOut,
        responses={409: {"description": "content_status_conflict: still processing"}},
    )
    async def retire_content(
        vtuber_id: VtuberId,
        content_id: ContentId,
        principal: Principal = team,
        session: AsyncSession = session_dep,
        contents: Contents = contents_dep,
    ) -> ContentOut:
        """No longer offered; fans keep what they own. Retiring again answers the same."""
        return await contents.retire(session, _actor(principal), vtuber_id, content_id)

    @router.get(
        "/api/v1/previews/{content_id}",
        response_class=Response,
        responses={
            200: {"content": {"image/webp": {}, "image/png": {}, "audio/mpeg": {}}},
            404: {"description": "content_not_found: unknown, not ready, or no preview"},
        },
    )
    async def preview(
        content_id: ContentId,
        request: Request,
        session: AsyncSession = session_dep,
        contents: Contents = contents_dep,
    ) -> Response:
        """A ready content's public preview: a blurred image (images, a video's frame), a short
        audio excerpt (with ffmpeg) or a WAV's waveform. Originals are never public."""
        data, media_type, digest = await contents.preview(session, content_id)
        etag = f'"{digest}"'
        headers = {
            "Cache-Control": PREVIEW_CACHE,
            "ETag": etag,
            "X-Content-Type-Options": "nosniff",
        }
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(data, media_type=media_type, headers=headers)

    return router
