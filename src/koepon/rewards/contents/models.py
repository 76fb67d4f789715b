"""The contents tables, on the rewards service's one ``Base``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from koepon.kernel.dbtypes import UtcDateTime
from koepon.rewards.models import Base


class Content(Base):
    """One file of a VTuber: the private original (``storage_key``) and its public preview and
    owners' thumbnail. ``status``: processing → ready → retired (contents/states.py)."""

    __tablename__ = "rewards_contents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    vtuber_id: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    mime_type: Mapped[str] = mapped_column(String(64), nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    checksum_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    storage_key: Mapped[str] = mapped_column(String(512), nullable=False)
    preview_key: Mapped[str | None] = mapped_column(String(512), nullable=True)
    thumbnail_key: Mapped[str | None] = mapped_column(String(512), nullable=True)
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (
        CheckConstraint("kind IN ('image', 'audio', 'video', 'pdf')", name="rewards_contents_kind"),
        CheckConstraint(
            "status IN ('processing', 'ready', 'retired')", name="rewards_contents_status"
        ),
        CheckConstraint("size_bytes >= 0", name="rewards_contents_size"),
        Index("ix_rewards_contents_vtuber", "vtuber_id", "created_at", "id"),
    )
