"""Downloads' response bodies and use-case results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field


class DownloadLink(BaseModel):
    """A signed, short-lived URL that downloads one file (or an archive) for its owner."""

    url: str = Field(description="GET it (no token needed: the URL is the credential)")
    expires_at: datetime = Field(description="After this instant the URL answers 410")


class ExportLink(DownloadLink):
    """The fan's collection archive: a ZIP of every live entitlement's file and a manifest."""

    export_id: str
    files: int = Field(description="Files in the archive (manifest.json aside)")
    size_bytes: int
    checksum_sha256: str
    archive_expires_at: datetime = Field(
        description="The archive is kept until then; ask a new URL for it with "
        "POST /api/v1/collection/exports/{export_id}/download"
    )


@dataclass(frozen=True)
class Served:
    """What a download URL answers: the bytes, or a redirect to the store's own signed URL."""

    filename: str
    mime_type: str
    data: bytes | None = None
    redirect: str | None = None


@dataclass(frozen=True)
class TraceResult:
    """Whose copy a leaked image is: the download that delivered it and how sure we are."""

    user_id: str
    download_id: str
    entitlement_id: str | None
    content_id: str
    watermark_id: str
    score: float
