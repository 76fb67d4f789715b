"""A VTuber's team: members with a role, invitations by email, and the record of every change.

- ``vtuber_members``: one row per (VTuber, account) with its team role (owner, manager, editor,
  analyst). The applicant becomes the owner when the application is approved.
- ``vtuber_invitations``: an invitation to an email address for a role; accepted by the account
  whose verified email it is, revoked, or expired.
- ``vtuber_team_changes``: who did what to whom and when (append-only).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, String
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
