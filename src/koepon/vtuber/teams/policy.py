"""Who may do what for a VTuber: the one policy module (pure: facts in, decisions out; no I/O).

Team roles (per VTuber; the applicant is the owner through ``owner_user_id``, a co-owner is a
member with role ``owner``):

=========  ===================================================================================
owner      every permission
manager    everything but ``payout.read``; ``team.manage`` without granting, changing or
           removing the ``owner`` role
editor     ``content.upload``, ``gacha.edit`` (drafts only: submitting for review is a manager's)
analyst    ``sales.read``
=========  ===================================================================================

Team permissions hold only while the VTuber is ``approved``: a pending, rejected or suspended
VTuber's team can do nothing (its owner can still read the application, ``private_view``).

Platform roles come on top and apply to any VTuber id (the endpoint that uses a permission
answers 404 for a VTuber that does not exist):

==========  ===========================================================================
admin       every permission; approves, rejects, suspends; sets the revenue share (R1)
compliance  ``sales.read`` and ``payout.read`` (read-only audit of any VTuber); approves,
            rejects, suspends; reads the record of changes and the private profile (no bank)
support     no permission; reads the application queue and any team's member list
==========  ===========================================================================

Bank details are read by the account owner (``owner_user_id``) and by admins only, admins with
the account number masked to its last three digits.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from koepon.contracts.vtuber import Permission


class TeamRole(StrEnum):
    OWNER = "owner"
    MANAGER = "manager"
    EDITOR = "editor"
    ANALYST = "analyst"


class PlatformRole(StrEnum):
    ADMIN = "admin"
    COMPLIANCE = "compliance"
    SUPPORT = "support"


class BankAccess(StrEnum):
    """How much of the bank account a caller sees in the private profile."""

    FULL = "full"
    MASKED = "masked"
    NONE = "none"


ALL = frozenset(Permission)
TEAM_PERMISSIONS: dict[TeamRole, frozenset[Permission]] = {
    TeamRole.OWNER: ALL,
    TeamRole.MANAGER: ALL - {Permission.PAYOUT_READ},
    TeamRole.EDITOR: frozenset({Permission.CONTENT_UPLOAD, Permission.GACHA_EDIT}),
    TeamRole.ANALYST: frozenset({Permission.SALES_READ}),
}
PLATFORM_PERMISSIONS: dict[PlatformRole, frozenset[Permission]] = {
    PlatformRole.ADMIN: ALL,
    PlatformRole.COMPLIANCE: frozenset({Permission.SALES_READ, Permission.PAYOUT_READ}),
    PlatformRole.SUPPORT: frozenset(),
}
STAFF = frozenset(PlatformRole)
DECIDERS = frozenset({PlatformRole.ADMIN, PlatformRole.COMPLIANCE})
CHANGE_READERS = frozenset({PlatformRole.ADMIN, PlatformRole.COMPLIANCE})


@dataclass(frozen=True)
class Standing:
    """The facts about one account and one VTuber that every decision here is made from.

    ``status`` is None when no such VTuber exists; ``team_role`` is the account's role in the
    team (``owner`` for ``owner_user_id`` itself), None for an outsider."""

    status: str | None
    team_role: TeamRole | None
    is_account_owner: bool
    platform_roles: frozenset[str]

    @property
    def active(self) -> bool:
        return self.status == "approved"


def standing(
    *,
    status: str | None,
    owner_user_id: str | None,
    member_role: str | None,
    user_id: str,
    platform_roles: Collection[str],
) -> Standing:
    is_owner = owner_user_id is not None and owner_user_id == user_id
    role = TeamRole.OWNER if is_owner else (TeamRole(member_role) if member_role else None)
    return Standing(status, role, is_owner, frozenset(platform_roles))


def permissions(who: Standing) -> frozenset[Permission]:
    """Everything ``who`` may do for the VTuber: team grants (approved VTubers only) ∪ platform
    grants."""
    granted: frozenset[Permission] = frozenset()
    if who.active and who.team_role is not None:
        granted = TEAM_PERMISSIONS[who.team_role]
    for role in PlatformRole:
        if role in who.platform_roles:
            granted = granted | PLATFORM_PERMISSIONS[role]
    return granted


def allows(who: Standing, permission: Permission) -> bool:
    return permission in permissions(who)


def may_view_team(who: Standing) -> bool:
    """The member list and open invitations: the active team itself and staff."""
    return (who.active and who.team_role is not None) or bool(STAFF & who.platform_roles)


def may_read_changes(who: Standing) -> bool:
    """The record of changes: whoever manages the team, admins and compliance."""
    return allows(who, Permission.TEAM_MANAGE) or bool(CHANGE_READERS & who.platform_roles)


def private_view(who: Standing) -> BankAccess | None:
    """May ``who`` read the private profile (legal name, invoice number, status, share), and how
    much of the bank account? None: not at all. The owner reads their own application in any
    status; co-owners of an active VTuber see it without the bank."""
    if who.is_account_owner:
        return BankAccess.FULL
    if PlatformRole.ADMIN in who.platform_roles:
        return BankAccess.MASKED
    if PlatformRole.COMPLIANCE in who.platform_roles:
        return BankAccess.NONE
    if who.active and who.team_role is TeamRole.OWNER:
        return BankAccess.NONE
    return None


def may_edit_payout_details(who: Standing) -> bool:
    """Legal name, bank account and invoice number: the account owner (active) and admins."""
    return (who.active and who.is_account_owner) or PlatformRole.ADMIN in who.platform_roles


def may_assign(who: Standing, role: TeamRole) -> bool:
    """May ``who`` grant ``role``, or change or remove a member holding it? Managers manage
    every role but ``owner``; owners and admins manage all."""
    if not allows(who, Permission.TEAM_MANAGE):
        return False
    if role is not TeamRole.OWNER:
        return True
    return who.team_role is TeamRole.OWNER or PlatformRole.ADMIN in who.platform_roles


def may_list_applications(roles: Collection[str]) -> bool:
    return bool(STAFF & frozenset(roles))


def may_decide_applications(roles: Collection[str]) -> bool:
    """Approve, reject, suspend (and reinstate by approving again)."""
    return bool(DECIDERS & frozenset(roles))


def may_set_revenue_share(roles: Collection[str]) -> bool:
    return PlatformRole.ADMIN in frozenset(roles)
