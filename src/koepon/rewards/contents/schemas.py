"""Contents' request/response bodies and use-case results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


@dataclass(frozen=True)
class ContentView:
    """One content as other sub-domains see it (entitlements, downloads)."""

    id: str
    vtuber_id: str
    kind: str  # image | audio | video | pdf
    title: str
    mime_type: str
    status: str  # processing | ready | retired
    size_bytes: int
    checksum_sha256: str
    storage_key: str  # the private original
    preview_key: str | None  # public preview (blurred for images), if any
    thumbnail_key: str | None  # thumbnail shown to owners, if any
    created_at: datetime
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Actor:
    user_id: str
    roles: frozenset[str]


@dataclass(frozen=True)
class Upload:
    """A file as the API read it from the request (bounded by the limits while reading)."""

    title: str | None
    data: bytes
    content_type: str | None  # what the client claimed for the file part
    filename: str | None


class ContentOut(BaseModel):
    """A content as its VTuber's team sees it. ``preview_url`` is public once ready."""

    id: str
    vtuber_id: str
    kind: str = Field(description="image | audio | video | pdf")
    title: str
    mime_type: str
    status: str = Field(description="processing | ready | retired")
    size_bytes: int
    checksum_sha256: str = Field(description="SHA-256 of the stored original (hex); empty while "
                                 "a direct upload is processing")  # fmt: skip
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None
    preview_url: str | None = None
    created_at: datetime
    updated_at: datetime


class ContentPage(BaseModel):
    items: list[ContentOut]
    next_cursor: str | None = None


class DirectUploadIn(BaseModel):
    """Announce a large file that the client will PUT straight to storage."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    content_type: str = Field(min_length=1, max_length=100, description="e.g. video/mp4")
    size_bytes: int = Field(ge=1, description="the exact size of the file to upload")
    filename: str | None = Field(None, max_length=255)


class PresignedUploadOut(BaseModel):
    url: str
    method: str
    headers: dict[str, str]
    expires_at: datetime


class DirectUploadOut(BaseModel):
    content: ContentOut
    upload: PresignedUploadOut
