"""VTuber profiles: an application by a fan, decided by an operator, then the public VTuber.

``bank`` and ``legal_name`` are for payouts only: never shown publicly, readable by the owner
(``payout.read``) and admins. ``revenue_share_bp`` is the VTuber's part of the yen value of paid
medals spent on their gachas (COMPLIANCE R1, default 7,000 = 70%). ``invoice_number`` is the
インボイス 登録番号 (T + 13 digits, checked, R3) with its registration date.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from koepon.kernel.dbtypes import UtcDateTime
from koepon.vtuber.models import Base


class VtuberProfile(Base):
    __tablename__ = "vtuber_profiles"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_user_id: Mapped[str] = mapped_column(String(64), nullable=False)
    # pending → approved | rejected; approved → suspended → approved
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    display_name: Mapped[str] = mapped_column(String(64), nullable=False)
    bio: Mapped[str] = mapped_column(Text, nullable=False, default="")
    avatar_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    channel_links: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    # individual | corporation: withholding (R2) applies to individuals only
    entity_type: Mapped[str] = mapped_column(String(16), nullable=False)
    legal_name: Mapped[str] = mapped_column(String(100), nullable=False)
    # {bank_code, branch_code, account_type, account_number, holder_kana}
    bank: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    invoice_number: Mapped[str | None] = mapped_column(String(14), nullable=True)
    invoice_registered_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    revenue_share_bp: Mapped[int] = mapped_column(Integer, nullable=False, default=7000)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    applied_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'suspended')",
            name="vtuber_profile_status",
        ),
        CheckConstraint(
            "entity_type IN ('individual', 'corporation')", name="vtuber_profile_entity"
        ),
        CheckConstraint(
            "revenue_share_bp >= 0 AND revenue_share_bp <= 10000", name="vtuber_profile_share"
        ),
        Index("ix_vtuber_profiles_owner", "owner_user_id"),
        Index("ix_vtuber_profiles_status", "status", "applied_at", "id"),
    )
