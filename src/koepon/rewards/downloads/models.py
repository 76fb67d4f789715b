"""The downloads tables, on the rewards service's one ``Base``.

- ``rewards_downloads``: one row per download issued — a URL for one entitlement's file, an
  export archive's URL, or one watermarked file inside an export. It maps a watermark id to the
  fan who received that copy (``koepon trace-leak``).
- ``rewards_download_fetches``: one row per fetch of a download URL (served or refused after the
  signature was genuine).
- ``rewards_exports``: a fan's collection archives (kept in storage until ``expires_at``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from koepon.kernel.dbtypes import BigSerial, UtcDateTime
from koepon.rewards.models import Base


class DownloadRow(Base):
    __tablename__ = "rewards_downloads"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # entitlement: a URL for one file; export: an archive's URL; export_item: a file inside one
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    user_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    entitlement_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    content_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    export_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # 64-bit id (16 hex digits) of the invisible mark, for images only
    watermark_id: Mapped[str | None] = mapped_column(String(16), nullable=True, unique=True)
    # difference hash of the original image (16 hex digits), so a leak finds its content
    content_hash: Mapped[str | None] = mapped_column(String(16), nullable=True)
    ip_hash: Mapped[str] = mapped_column(String(32), nullable=False)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    fetches: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_fetched_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        CheckConstraint("kind IN ('entitlement', 'export', 'export_item')", name="downloads_kind"),
        Index("ix_rewards_downloads_content", "content_id"),
        Index("ix_rewards_downloads_user_issued", "user_id", "issued_at"),
    )


class DownloadFetchRow(Base):
    __tablename__ = "rewards_download_fetches"

    id: Mapped[int] = mapped_column(BigSerial, primary_key=True, autoincrement=True)
    download_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("rewards_downloads.id"), nullable=False, index=True
    )
    user_id: Mapped[str] = mapped_column(String(64), nullable=False)
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    ip_hash: Mapped[str] = mapped_column(String(32), nullable=False)
    # served | refused (the entitlement was revoked or the archive is gone)
    outcome: Mapped[str] = mapped_column(String(24), nullable=False)


class ExportRow(Base):
    __tablename__ = "rewards_exports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    storage_key: Mapped[str] = mapped_column(String(255), nullable=False)
    files: Mapped[int] = mapped_column(Integer, nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    checksum_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, index=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The fan's Idempotency-Key, if the request carried one: a replay answers this archive.
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)

    __table_args__ = (
        Index("ux_rewards_exports_user_key", "user_id", "idempotency_key", unique=True),
    )
