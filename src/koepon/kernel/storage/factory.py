"""Chooses the object storage adapter from the settings (business code never asks which)."""

from __future__ import annotations

from koepon.kernel.settings import Settings
from koepon.kernel.storage import Storage
from koepon.kernel.storage.local import LocalStorage


def storage_from_settings(settings: Settings, service: str) -> Storage:
    """S3 (or R2) when ``KOEPON_S3_BUCKET`` is set, else local disk under
    ``data_dir/objects/<service>``. Each service keeps its objects under its own prefix."""
    if settings.s3_bucket:
        from koepon.kernel.storage.s3 import S3Storage

        s3: Storage = S3Storage.from_settings(settings, prefix=f"{service}/")
        return s3
    return LocalStorage(settings.data_dir / "objects" / service)
