"""Object storage, the port: private objects by key (content originals, previews, exports).

Two adapters behind the same protocol: ``local.py`` (a directory on disk, the embedded default)
and ``s3.py`` (the S3 API: AWS S3, Cloudflare R2 or any S3-compatible server, chosen by
settings alone). Keys are relative paths of ``[A-Za-z0-9._/-]`` segments; nothing in a key
reaches outside the store. ``storage_from_settings`` picks the adapter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

KEY_PATTERN = re.compile(r"^(?!/)(?!.*/$)(?!.*//)(?!.*(^|/)\.\.?(/|$))[A-Za-z0-9._/-]{1,512}$")


class StorageError(Exception):
    """The store could not be used (unreachable, refused); the caller may retry."""


class ObjectNotFound(StorageError):
    """No object under this key."""


def check_key(key: str) -> str:
    """``key`` if it is a safe object key, else ``ValueError`` (no absolute paths, no ``..``, no
    empty segment, no trailing ``/``)."""
    if not KEY_PATTERN.match(key):
        raise ValueError(f"Not a storage key: {key!r}")
    return key


@dataclass(frozen=True)
class PresignedUpload:
    """Where a client PUTs a large file straight to the store: the URL, the method, the headers
    it must send, and until when."""

    url: str
    method: str
    headers: dict[str, str]
    expires_at: datetime


class Storage(Protocol):
    """Private object storage. Every method may raise ``StorageError``."""

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        """Store ``data`` under ``key`` (replacing any object there); durable when it returns."""
        ...

    async def get(self, key: str) -> bytes:
        """The object's bytes; ``ObjectNotFound`` if there is none."""
        ...

    async def size(self, key: str) -> int | None:
        """The object's size in bytes, or None if there is none."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; removing a missing one is not an error."""
        ...

    async def keys(self, prefix: str) -> list[str]:
        """Every key starting with ``prefix`` (sorted)."""
        ...

    async def presigned_get(
        self, key: str, *, expires_seconds: int, filename: str, content_type: str
    ) -> str | None:
        """A short-lived URL that downloads the object directly from the store, or None when
        the store cannot sign URLs (local disk: the service then serves the bytes itself)."""
        ...

    async def presigned_put(
        self, key: str, *, expires_seconds: int, content_type: str
    ) -> PresignedUpload | None:
        """A short-lived URL for uploading straight to the store, or None (local disk)."""
        ...

    async def close(self) -> None: ...
