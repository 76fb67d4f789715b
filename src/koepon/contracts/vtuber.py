"""What the VTuber service answers and publishes for other services.

Gacha and rewards ask ``VtuberTeams.permissions`` before a VTuber's team authors a gacha or
uploads a content: the VTuber service's one policy module (``vtuber/teams/policy.py``) decides
every permission, for team roles and platform roles alike.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from koepon.contracts import Event


class Permission(StrEnum):
    """What a member of a VTuber's team (or an operator) may do for that VTuber."""

    PROFILE_EDIT = "profile.edit"
    CONTENT_UPLOAD = "content.upload"
    GACHA_EDIT = "gacha.edit"
    GACHA_SUBMIT = "gacha.submit"
    SALES_READ = "sales.read"
    PAYOUT_READ = "payout.read"
    TEAM_MANAGE = "team.manage"


class VtuberUnavailable(Exception):
    """The VTuber service could not be asked (down, timed out): try again later."""


class VtuberTeams(Protocol):
    async def permissions(
        self, vtuber_id: str, user_id: str, roles: frozenset[str]
    ) -> frozenset[Permission]:
        """What ``user_id`` (holding platform ``roles``) may do for ``vtuber_id`` now: empty for
        an unknown, unapproved or suspended VTuber unless a platform role grants it. Raises
        ``VtuberUnavailable``."""
        ...

    async def approved(self, vtuber_ids: frozenset[str]) -> frozenset[str]:
        """Which of ``vtuber_ids`` are approved VTubers now (collab partners must be).
        Raises ``VtuberUnavailable``."""
        ...


class RevenueShare(BaseModel):
    """One VTuber's part of a gacha's revenue, in basis points (1/10,000) of the whole."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    vtuber_id: str
    share_bp: int


class MemberInvited(Event):
    """A VTuber's team invited someone by email: the auth service mails them (it owns mail).

    The invitee signs in with that address and accepts in the studio; the event carries no
    secret (acceptance checks the signed-in account's verified email)."""

    topic = "vtuber.member.invited.v1"
    invitation_id: str
    vtuber_id: str
    vtuber_name: str
    email: str
    role: Literal["owner", "manager", "editor", "analyst"]
    expires_at: datetime
    invited_at: datetime


class VtuberApproved(Event):
    """An operator approved a VTuber application: the VTuber exists publicly now."""

    topic = "vtuber.approved.v1"
    vtuber_id: str
    owner_user_id: str
    display_name: str
    approved_at: datetime
