"""Seed pairs (DESIGN.md "Fairness algorithm, version 1"): one active pair per fan."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from koepon.gacha.models import Base
from koepon.kernel.dbtypes import UtcDateTime


class SeedPair(Base):
    """A fan's server seed (secret until revealed), client seed and next nonce.

    ``active_user_id`` is the fan's id while the pair is active and NULL once revealed: its
    unique index allows exactly one active pair per fan.
    """

    __tablename__ = "seed_pairs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), nullable=False)
    active_user_id: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    server_seed: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    server_seed_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    client_seed: Mapped[str] = mapped_column(String(64), nullable=False)
    next_nonce: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    revealed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        CheckConstraint("next_nonce >= 0", name="seed_pairs_nonce"),
        Index("ix_seed_pairs_user", "user_id", "created_at"),
        Index("ix_seed_pairs_hash", "server_seed_hash"),
    )
