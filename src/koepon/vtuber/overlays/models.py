"""The current overlay token of each VTuber, as its SHA-256 only (``vtuber_overlay_keys``).

One row per VTuber: rotating overwrites it, so the previous token stops resolving at once.
``token_hint`` (the first characters) lets the team tell which URL is live without the secret.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from koepon.kernel.dbtypes import UtcDateTime
from koepon.vtuber.models import Base


class OverlayKey(Base):
    __tablename__ = "vtuber_overlay_keys"

    vtuber_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    token_hint: Mapped[str] = mapped_column(String(8), nullable=False)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (Index("ix_vtuber_overlay_keys_token", "token_sha256", unique=True),)
