"""Contents' request/response bodies and use-case results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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
