"""S3-API object storage (AWS S3, Cloudflare R2, any S3-compatible server): filled in by the
storage work."""

from __future__ import annotations

from koepon.kernel.settings import Settings
from koepon.kernel.storage import PresignedUpload


class S3Storage:
    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        raise NotImplementedError

    async def get(self, key: str) -> bytes:
        raise NotImplementedError

    async def size(self, key: str) -> int | None:
        raise NotImplementedError

    async def delete(self, key: str) -> None:
        raise NotImplementedError

    async def keys(self, prefix: str) -> list[str]:
        raise NotImplementedError

    async def presigned_get(
        self, key: str, *, expires_seconds: int, filename: str, content_type: str
    ) -> str | None:
        raise NotImplementedError

    async def presigned_put(
        self, key: str, *, expires_seconds: int, content_type: str
    ) -> PresignedUpload | None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    @classmethod
    def from_settings(cls, settings: Settings, *, prefix: str) -> S3Storage:
        raise NotImplementedError("the S3 adapter is not built yet")
