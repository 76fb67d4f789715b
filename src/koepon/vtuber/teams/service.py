"""A VTuber's team: members, invitations by email, the record of changes, and permissions.

Every permission comes from ``policy`` (facts read by ``Profiles.standing``); every change
writes its line in the record (``repository.record``) in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.vtuber import MemberInvited, Permission
from koepon.kernel.clock import as_utc
from koepon.kernel.pagination import decode_keyset, encode_keyset
from koepon.vtuber.context import VtuberContext
from koepon.vtuber.errors import (
    AccountsUnavailable,
    AlreadyMember,
    EmailNotVerified,
    InvitationAccepted,
    InvitationExpired,
    InvitationNotFound,
    InvitationNotYours,
    InvitationPending,
    InvitationRevoked,
    InvitationsRateLimited,
    MemberNotFound,
    NotAllowed,
    OwnerNotRemovable,
    VtuberNotActive,
    VtuberNotFound,
)
from koepon.vtuber.teams import policy, repository
from koepon.vtuber.teams.models import Invitation, Member, VtuberProfile
from koepon.vtuber.teams.policy import Standing, TeamRole
from koepon.vtuber.teams.profiles import Profiles
from koepon.vtuber.teams.schemas import (
    Change,
    ChangePage,
    InvitationView,
    Invite,
    MemberView,
    MyVtuber,
    Team,
)
from koepon.vtuber.teams.views import invitation_view, member_view

INVITATIONS_LIMIT = "30/day"


class Teams:
    def __init__(self, ctx: VtuberContext, profiles: Profiles) -> None:
        self.ctx = ctx
        self.profiles = profiles

    async def permissions(
        self, session: AsyncSession, vtuber_id: str, user_id: str, roles: frozenset[str]
    ) -> frozenset[Permission]:
        """What ``user_id`` with platform ``roles`` may do for ``vtuber_id`` (``policy``)."""
        _, who = await self.profiles.standing(session, vtuber_id, user_id, roles)
        return policy.permissions(who)

    async def require(
        self,
        session: AsyncSession,
        vtuber_id: str,
        user_id: str,
        roles: Collection[str],
        permission: Permission,
    ) -> None:
        """Refuse anyone without ``permission`` (404 for an unknown VTuber), before a body."""
        row, who = await self.profiles.standing(session, vtuber_id, user_id, roles)
        if row is None:
            raise VtuberNotFound("No such VTuber")
        if not policy.allows(who, permission):
            raise NotAllowed(f"{permission.value} is needed for this VTuber")

    async def approved(self, session: AsyncSession, vtuber_ids: Collection[str]) -> frozenset[str]:
        return frozenset(await repository.approved_among(session, vtuber_ids))

    async def _managed(
        self, session: AsyncSession, vtuber_id: str, user_id: str, roles: Collection[str]
    ) -> tuple[VtuberProfile, Standing]:
        row, who = await self.profiles.standing(session, vtuber_id, user_id, roles)
        if row is None:
            raise VtuberNotFound("No such VTuber")
        if not policy.allows(who, Permission.TEAM_MANAGE):
            raise NotAllowed("team.manage is needed to change this VTuber's team")
        if row.status != "approved":
            raise VtuberNotActive(f"The VTuber is {row.status}", status_now=row.status)
        return row, who

    async def team(
        self, session: AsyncSession, vtuber_id: str, *, user_id: str, roles: Collection[str]
    ) -> Team:
        """The members (the account owner first) and the open invitations."""
        row, who = await self.profiles.standing(session, vtuber_id, user_id, roles)
        if row is None:
            raise VtuberNotFound("No such VTuber")
        if not policy.may_view_team(who):
            raise NotAllowed("Only the team and operators see the team")
        owner = MemberView(
            user_id=row.owner_user_id,
            role="owner",
            added_by=row.owner_user_id,
            added_at=row.applied_at,
            is_account_owner=True,
        )
        now = self.ctx.now()
        return Team(
            members=[owner, *map(member_view, await repository.members(session, vtuber_id))],
            invitations=[
                invitation_view(invitation, row.display_name, now)
                for invitation in await repository.pending_invitations(session, vtuber_id)
            ],
        )

    async def invite(
        self,
        session: AsyncSession,
        vtuber_id: str,
        *,
        user_id: str,
        roles: Collection[str],
        body: Invite,
    ) -> InvitationView:
        """An invitation by email (the auth service mails it on ``MemberInvited``)."""
        row, who = await self._managed(session, vtuber_id, user_id, roles)
        if not policy.may_assign(who, TeamRole(body.role)):
            raise NotAllowed(f"Granting the {body.role} role needs an owner")
        now = self.ctx.now()
        if await repository.open_invitation(session, vtuber_id, body.email, now) is not None:
            raise InvitationPending("This address already has an open invitation to the team")
        # Each invitation mails an address nobody has proven: bounded per team and day.
        allowed, retry = await self.ctx.rate_limiter.hit(
            INVITATIONS_LIMIT, "vtuber-invite", vtuber_id
        )
        if not allowed:
            raise InvitationsRateLimited(f"Too many invitations ({INVITATIONS_LIMIT})", retry)
        invitation = Invitation(
            id=str(uuid.uuid4()),
            vtuber_id=vtuber_id,
            email=body.email,
            role=body.role,
            status="pending",
            invited_by=user_id,
            created_at=now,
            expires_at=now + timedelta(days=self.ctx.vtuber_settings.invitation_days),
        )
        session.add(invitation)
        await repository.record(
            session,
            vtuber_id=vtuber_id,
            actor_id=user_id,
            action="member.invited",
            at=now,
            detail={"invitation_id": invitation.id, "email": body.email, "role": body.role},
        )
        await self.ctx.outbox.add(
            session,
            MemberInvited(
                invitation_id=invitation.id,
                vtuber_id=vtuber_id,
                vtuber_name=row.display_name,
                email=body.email,
                role=body.role,
                expires_at=invitation.expires_at,
                invited_at=now,
            ),
        )
        return invitation_view(invitation, row.display_name, now)

    async def revoke_invitation(
        self,
        session: AsyncSession,
        vtuber_id: str,
        invitation_id: str,
        *,
        user_id: str,
        roles: Collection[str],
    ) -> None:
        _, who = await self._managed(session, vtuber_id, user_id, roles)
        invitation = await repository.invitation(session, invitation_id, lock=True)
        if invitation is None or invitation.vtuber_id != vtuber_id:
            raise InvitationNotFound("No such invitation to this team")
        if not policy.may_assign(who, TeamRole(invitation.role)):
            raise NotAllowed(f"Revoking an invitation as {invitation.role} needs an owner")
        now = self.ctx.now()
        self._still_open(invitation, now)
        invitation.status = "revoked"
        invitation.decided_by = user_id
        invitation.decided_at = now
        await repository.record(
            session,
            vtuber_id=vtuber_id,
            actor_id=user_id,
            action="invitation.revoked",
            at=now,
            detail={"invitation_id": invitation.id, "email": invitation.email},
        )

    async def change_role(
        self,
        session: AsyncSession,
        vtuber_id: str,
        member_id: str,
        *,
        user_id: str,
        roles: Collection[str],
        role: str,
    ) -> MemberView:
        row, who = await self._managed(session, vtuber_id, user_id, roles)
        if member_id == row.owner_user_id:
            raise OwnerNotRemovable("The account owner's role cannot change")
        member = await repository.member(session, vtuber_id, member_id, lock=True)
        if member is None:
            raise MemberNotFound("No such member of this team")
        if not (
            policy.may_assign(who, TeamRole(member.role)) and policy.may_assign(who, TeamRole(role))
        ):
            raise NotAllowed("Changing an owner's role, or making an owner, needs an owner")
        was = member.role
        member.role = role
        await repository.record(
            session,
            vtuber_id=vtuber_id,
            actor_id=user_id,
            action="member.role_changed",
            at=self.ctx.now(),
            detail={"user_id": member_id, "from": was, "to": role},
        )
        return member_view(member)

    async def remove_member(
        self,
        session: AsyncSession,
        vtuber_id: str,
        member_id: str,
        *,
        user_id: str,
        roles: Collection[str],
    ) -> None:
        """Remove a member (team.manage), or leave the team oneself."""
        row, who = await self.profiles.standing(session, vtuber_id, user_id, roles)
        if row is None:
            raise VtuberNotFound("No such VTuber")
        if member_id == row.owner_user_id:
            raise OwnerNotRemovable("The account owner cannot be removed from the team")
        member = await repository.member(session, vtuber_id, member_id, lock=True)
        leaving = member_id == user_id and member is not None
        if not leaving:
            await self._managed(session, vtuber_id, user_id, roles)
            if member is None:
                raise MemberNotFound("No such member of this team")
            if not policy.may_assign(who, TeamRole(member.role)):
                raise NotAllowed("Removing an owner needs an owner")
        assert member is not None
        await session.delete(member)
        await repository.record(
            session,
            vtuber_id=vtuber_id,
            actor_id=user_id,
            action="member.left" if leaving else "member.removed",
            at=self.ctx.now(),
            detail={"user_id": member_id, "role": member.role},
        )

    async def _verified_email(self, user_id: str) -> str:
        auth = self.ctx.clients.auth
        if auth is None:
            raise AccountsUnavailable("The accounts service cannot be asked now")
        try:
            email = await auth.verified_email(user_id)
        except Exception as exc:  # down, timed out: say so, typed
            raise AccountsUnavailable("The accounts service cannot be asked now") from exc
        if email is None:
            raise EmailNotVerified("Verify your email address to see and accept invitations")
        return email

    async def my_invitations(self, session: AsyncSession, *, user_id: str) -> list[InvitationView]:
        """Open invitations to the signed-in account's verified email address (none while the
        address is unverified: the account page says so)."""
        try:
            email = await self._verified_email(user_id)
        except EmailNotVerified:
            return []
        now = self.ctx.now()
        rows = await repository.invitations_to(session, email, now)
        names = {
            p.id: p.display_name
            for p in await repository.profiles(session, {r.vtuber_id for r in rows})
        }
        return [invitation_view(row, names.get(row.vtuber_id, ""), now) for row in rows]

    @staticmethod
    def _still_open(invitation: Invitation, now: datetime) -> None:
        if invitation.status == "accepted":
            raise InvitationAccepted("This invitation was already accepted")
        if invitation.status == "revoked":
            raise InvitationRevoked("This invitation was revoked")
        if invitation.status == "expired" or as_utc(invitation.expires_at) <= now:
            raise InvitationExpired("This invitation has expired; ask the team for a new one")

    async def accept(
        self, session: AsyncSession, invitation_id: str, *, user_id: str
    ) -> MemberView:
        """The signed-in account joins the team, if the invitation went to its verified email."""
        invitation = await repository.invitation(session, invitation_id, lock=True)
        if invitation is None:
            raise InvitationNotFound("No such invitation")
        email = await self._verified_email(user_id)
        if invitation.email != email:
            raise InvitationNotYours("This invitation was sent to another email address")
        now = self.ctx.now()
        self._still_open(invitation, now)
        row = await repository.profile(session, invitation.vtuber_id)
        if row is None or row.status != "approved":
            raise VtuberNotActive("The VTuber is not active now")
        if row.owner_user_id == user_id or await repository.member(session, row.id, user_id):
            raise AlreadyMember("This account is already in the team")
        member = Member(
            vtuber_id=row.id,
            user_id=user_id,
            role=invitation.role,
            added_by=invitation.invited_by,
            added_at=now,
        )
        session.add(member)
        invitation.status = "accepted"
        invitation.decided_by = user_id
        invitation.decided_at = now
        await repository.record(
            session,
            vtuber_id=row.id,
            actor_id=user_id,
            action="member.joined",
            at=now,
            detail={"invitation_id": invitation.id, "role": invitation.role},
        )
        return member_view(member)

    async def changes(
        self,
        session: AsyncSession,
        vtuber_id: str,
        *,
        user_id: str,
        roles: Collection[str],
        cursor: str | None,
        limit: int,
    ) -> ChangePage:
        """The record of changes, newest first."""
        row, who = await self.profiles.standing(session, vtuber_id, user_id, roles)
        if row is None:
            raise VtuberNotFound("No such VTuber")
        if not policy.may_read_changes(who):
            raise NotAllowed("team.manage, admin or compliance is needed to read the record")
        before = decode_keyset(cursor) if cursor else None
        rows = await repository.changes(session, vtuber_id, before=before, limit=limit + 1)
        last = rows[limit - 1] if len(rows) > limit else None
        return ChangePage(
            items=[
                Change(id=r.id, actor_id=r.actor_id, action=r.action, detail=r.detail, at=r.at)
                for r in rows[:limit]
            ],
            next_cursor=encode_keyset(as_utc(last.at), last.id) if last else None,
        )

    async def mine(
        self, session: AsyncSession, *, user_id: str, roles: Collection[str]
    ) -> list[MyVtuber]:
        """The VTubers the account owns (in any status) or is a member of, with what it may do."""
        owned = list(await repository.profiles_owned_by(session, user_id))
        memberships = {
            m.vtuber_id: m.role for m in await repository.memberships_of(session, user_id)
        }
        joined = await repository.profiles(session, memberships.keys() - {p.id for p in owned})
        out: list[MyVtuber] = []
        for row in [*owned, *joined]:
            who = policy.standing(
                status=row.status,
                owner_user_id=row.owner_user_id,
                member_role=memberships.get(row.id),
                user_id=user_id,
                platform_roles=roles,
            )
            assert who.team_role is not None
            out.append(
                MyVtuber(
                    vtuber_id=row.id,
                    display_name=row.display_name,
                    status=row.status,
                    role=who.team_role.value,
                    permissions=sorted(policy.permissions(who)),
                )
            )
        return out
