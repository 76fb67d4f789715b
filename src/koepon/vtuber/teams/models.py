"""A VTuber and its team: the profile, members with a role, invitations by email, and the record
of every change.

- ``vtuber_profiles``: an application by a fan, decided by an operator, then the public VTuber.
  ``bank`` and ``legal_name`` are for payouts only (never public; the owner with ``payout.read``
  and admins read them). ``revenue_share_bp`` is the VTuber's part of the yen value of paid medals
  spent on their gachas (COMPLIANCE R1). ``invoice_number`` is the インボイス 登録番号 (R3).
  ``owner_user_id`` is the owner: the owner has no ``vtuber_members`` row.

- ``vtuber_members``: one row per (VTuber, account) with its team role (manager, editor,
  analyst; ``owner`` only for a co-owner). The applicant is the owner (``owner_user_id``).
- ``vtuber_invitations``: an invitation to an email address for a role; accepted by the account
  whose verified email it is, revoked, or expired.
- ``vtuber_team_changes``: who did what to whom and when (append-only).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from koepon.kernel.dbtypes import UtcDateTime
from koepon.vtuber.models import Base

ROLE_CHECK = "role IN ('owner', 'manager', 'editor', 'analyst')"


class Member(Base):
    __tablename__ = "vtuber_members"

    vtuber_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    added_by: Mapped[str] = mapped_column(String(64), nullable=False)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (
        CheckConstraint(ROLE_CHECK, name="vtuber_member_role"),
        Index("ix_vtuber_members_user", "user_id"),
    )


class Invitation(Base):
    __tablename__ = "vtuber_invitations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    vtuber_id: Mapped[str] = mapped_column(String(36), nullable=False)
    email: Mapped[str] = mapped_column(String(320), nullable=False)  # lower-cased
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    # pending → accepted | revoked | expired
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    invited_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        CheckConstraint(ROLE_CHECK, name="vtuber_invitation_role"),
        CheckConstraint(
            "status IN ('pending', 'accepted', 'revoked', 'expired')",
            name="vtuber_invitation_status",
        ),
        Index("ix_vtuber_invitations_vtuber", "vtuber_id", "status"),
        Index("ix_vtuber_invitations_email", "email", "status"),
    )


class TeamChange(Base):
    __tablename__ = "vtuber_team_changes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    vtuber_id: Mapped[str] = mapped_column(String(36), nullable=False)
    actor_id: Mapped[str] = mapped_column(String(64), nullable=False)
    # e.g. applied, approved, rejected, suspended, profile.edited, member.invited,
    # member.joined, member.role_changed, member.removed, invitation.revoked, share.changed
    action: Mapped[str] = mapped_column(String(40), nullable=False)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (Index("ix_vtuber_team_changes_vtuber", "vtuber_id", "at", "id"),)


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
        # The public directory by name (approved VTubers, keyset by name and id).
        Index("ix_vtuber_profiles_directory", "status", "display_name", "id"),
    )
