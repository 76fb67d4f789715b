"""The VTuber service's copy of the gachas it earns from, kept from ``gacha.catalog.changed.v1``.

``revision`` is the highest the gacha service published: an older event changes nothing.
``vtuber_gacha_parties`` lists every VTuber that earns from a gacha (one row with 10,000 bp for
a solo gacha; a collab's rows sum to 10,000), so a VTuber's gachas include their collabs.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from koepon.kernel.dbtypes import UtcDateTime
from koepon.vtuber.models import Base


class GachaCopy(Base):
    __tablename__ = "vtuber_gachas"

    gacha_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    vtuber_id: Mapped[str] = mapped_column(String(36), nullable=False)  # the lead VTuber
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    price_medals: Mapped[int] = mapped_column(Integer, nullable=False)
    starts_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    box_stock: Mapped[int | None] = mapped_column(Integer, nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (Index("ix_vtuber_gachas_vtuber", "vtuber_id", "status"),)


class GachaParty(Base):
    __tablename__ = "vtuber_gacha_parties"

    gacha_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    vtuber_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    share_bp: Mapped[int] = mapped_column(Integer, nullable=False)

    __table_args__ = (
        CheckConstraint("share_bp > 0 AND share_bp <= 10000", name="vtuber_gacha_party_share"),
        Index("ix_vtuber_gacha_parties_vtuber", "vtuber_id"),
    )
