"""Routes of applications, profiles, teams, invitations and operators' decisions.

Who may call what is decided by ``policy`` (operators' routes through ``operators``, team routes
in the services from the caller's standing); see docs in ``policy.py``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.vtuber import Permission
from koepon.kernel.idempotency import idempotency_key
from koepon.kernel.pagination import KeysetCursor
from koepon.kernel.tokens import Principal
from koepon.vtuber.context import VtuberContext, provide
from koepon.vtuber.teams import policy
from koepon.vtuber.teams.directory import MAX_CURSOR_CHARS, Directory
from koepon.vtuber.teams.guards import Id, operators, team_permission
from koepon.vtuber.teams.profiles import Profiles
from koepon.vtuber.teams.replays import Replays
from koepon.vtuber.teams.schemas import (
    Application,
    ApplicationCreate,
    ApplicationPage,
    ChangePage,
    DirectoryPage,
    InvitationView,
    Invite,
    MemberView,
    MyVtuber,
    PrivateProfile,
    ProfileUpdate,
    PublicProfile,
    Reason,
    RevenueShare,
    RoleChange,
    Team,
)
from koepon.vtuber.teams.service import Teams

Limit = Annotated[int, Query(ge=1, le=100, description="Items per page (1–100)")]
StatusFilter = Annotated[
    Literal["pending", "approved", "rejected", "suspended"],
    Query(description="Applications in this status (default: the pending queue)"),
]
DirectoryCursor = Annotated[
    str | None,
    Query(max_length=MAX_CURSOR_CHARS, description="The next_cursor of the previous page"),
]
DirectoryOrder = Annotated[
    Literal["newest", "name"],
    Query(description="newest: the latest VTubers first; name: by display name"),
]
IK = {
    409: {"description": "idempotency_in_flight"},
    422: {"description": "idempotency_key_reused, validation"},
}


def build_router(
    ctx: VtuberContext, profiles: Profiles, teams: Teams, directory: Directory
) -> APIRouter:
    router = APIRouter(tags=["vtubers"])
    user = Depends(ctx.authenticator.user)
    session_dep = Depends(ctx.db.session_dependency, scope="function")
    # The public directory may lag by the read replica's delay (docs/DEPLOY.md "Read replicas").
    reader_dep = Depends(ctx.db.reader.session_dependency, scope="function")
    profiles_dep = Depends(provide(profiles))
    teams_dep = Depends(provide(teams))
    directory_dep = Depends(provide(directory))
    optional_key = Depends(idempotency_key(required=False))
    replays = Replays(ctx)
    manages = [Depends(team_permission(ctx, teams, Permission.TEAM_MANAGE))]
    edits_profile = [Depends(team_permission(ctx, teams, Permission.PROFILE_EDIT))]
    listers = Depends(operators(ctx, policy.may_list_applications, "admin, compliance, support"))
    deciders = Depends(operators(ctx, policy.may_decide_applications, "admin and compliance"))
    admins = Depends(operators(ctx, policy.may_set_revenue_share, "admin"))

    @router.post(
        "/api/v1/vtubers",
        status_code=201,
        response_model=PrivateProfile,
        responses={409: {"description": "application_exists, idempotency_in_flight"}, 422: IK[422]},
    )
    async def apply(
        request: Request,
        body: ApplicationCreate,
        principal: Principal = user,
        key: str | None = optional_key,
        profiles: Profiles = profiles_dep,
    ) -> JSONResponse:
        """Apply to become a VTuber (the caller becomes its owner; one open application or
        VTuber per account). Pending until an operator approves or rejects it."""
        return await replays.once(
            request,
            user_id=principal.user_id,
            key=key,
            status=201,
            use_case=lambda session: profiles.apply(session, user_id=principal.user_id, body=body),
        )

    @router.get(
        "/api/v1/vtubers",
        response_model=DirectoryPage,
        responses={422: {"description": "invalid_cursor, validation"}},
    )
    async def directory_page(
        session: AsyncSession = reader_dep,
        directory: Directory = directory_dep,
        order: DirectoryOrder = "newest",
        cursor: DirectoryCursor = None,
        limit: Limit = 50,
    ) -> DirectoryPage:
        """The public directory (no token): approved VTubers only, with their live gachas'
        count; a cursor is bound to the order it was handed out for."""
        return await directory.page(session, order=order, cursor=cursor, limit=limit)

    @router.get(
        "/api/v1/vtubers/{vtuber_id}",
        response_model=PublicProfile,
        responses={404: {"description": "vtuber_not_found (also not approved)"}},
    )
    async def public_profile(
        vtuber_id: Id, session: AsyncSession = session_dep, profiles: Profiles = profiles_dep
    ) -> PublicProfile:
        """An approved VTuber's public page: profile and live gachas (public, no token)."""
        return await profiles.public(session, vtuber_id)

    @router.get("/api/v1/vtubers/{vtuber_id}/private", response_model=PrivateProfile)
    async def private_profile(
        vtuber_id: Id,
        principal: Principal = user,
        session: AsyncSession = session_dep,
        profiles: Profiles = profiles_dep,
    ) -> PrivateProfile:
        """Everything, with the status of the application: the owner (bank in full), admins
        (account number masked), compliance and co-owners (no bank)."""
        return await profiles.private(
            session, vtuber_id, user_id=principal.user_id, roles=principal.roles
        )

    @router.patch(
        "/api/v1/vtubers/{vtuber_id}", response_model=PrivateProfile, dependencies=edits_profile
    )
    async def edit_profile(
        vtuber_id: Id,
        body: ProfileUpdate,
        principal: Principal = user,
        session: AsyncSession = session_dep,
        profiles: Profiles = profiles_dep,
    ) -> PrivateProfile:
        """Change the profile (profile.edit); payout details only by the owner or an admin."""
        return await profiles.update(
            session, vtuber_id, user_id=principal.user_id, roles=principal.roles, body=body
        )

    @router.get("/api/v1/me/vtubers", response_model=list[MyVtuber])
    async def my_vtubers(
        principal: Principal = user, session: AsyncSession = session_dep, teams: Teams = teams_dep
    ) -> list[MyVtuber]:
        """The VTubers the caller owns (any status) or is in the team of, with role and
        permissions."""
        return await teams.mine(session, user_id=principal.user_id, roles=principal.roles)

    @router.post(
        "/api/v1/vtubers/{vtuber_id}/members",
        status_code=201,
        response_model=InvitationView,
        responses={
            409: {"description": "invitation_pending, vtuber_not_active, idempotency_in_flight"},
            422: IK[422],
        },
        dependencies=manages,
    )
    async def invite(
        request: Request,
        vtuber_id: Id,
        body: Invite,
        principal: Principal = user,
        key: str | None = optional_key,
        teams: Teams = teams_dep,
    ) -> JSONResponse:
        """Invite an email address into the team with a role (team.manage; only owners grant
        ``owner``). The auth service mails the invitation."""
        return await replays.once(
            request,
            user_id=principal.user_id,
            key=key,
            status=201,
            use_case=lambda session: teams.invite(
                session, vtuber_id, user_id=principal.user_id, roles=principal.roles, body=body
            ),
        )

    @router.get("/api/v1/vtubers/{vtuber_id}/members", response_model=Team)
    async def team(
        vtuber_id: Id,
        principal: Principal = user,
        session: AsyncSession = session_dep,
        teams: Teams = teams_dep,
    ) -> Team:
        """The members (the owner first) and open invitations: the team and operators."""
        return await teams.team(
            session, vtuber_id, user_id=principal.user_id, roles=principal.roles
        )

    @router.patch(
        "/api/v1/vtubers/{vtuber_id}/members/{user_id}",
        response_model=MemberView,
        dependencies=manages,
    )
    async def change_role(
        vtuber_id: Id,
        user_id: Id,
        body: RoleChange,
        principal: Principal = user,
        session: AsyncSession = session_dep,
        teams: Teams = teams_dep,
    ) -> MemberView:
        """Give a member another role (team.manage; owners only for the ``owner`` role)."""
        return await teams.change_role(
            session,
            vtuber_id,
            user_id,
            user_id=principal.user_id,
            roles=principal.roles,
            role=body.role,
        )

    @router.delete("/api/v1/vtubers/{vtuber_id}/members/{user_id}", status_code=204)
    async def remove_member(
        vtuber_id: Id,
        user_id: Id,
        principal: Principal = user,
        session: AsyncSession = session_dep,
        teams: Teams = teams_dep,
    ) -> Response:
        """Remove a member (team.manage), or leave the team (one's own id)."""
        await teams.remove_member(
            session, vtuber_id, user_id, user_id=principal.user_id, roles=principal.roles
        )
        return Response(status_code=204)

    @router.delete("/api/v1/vtubers/{vtuber_id}/invitations/{invitation_id}", status_code=204)
    async def revoke_invitation(
        vtuber_id: Id,
        invitation_id: Id,
        principal: Principal = user,
        session: AsyncSession = session_dep,
        teams: Teams = teams_dep,
    ) -> Response:
        """Withdraw an open invitation (team.manage)."""
        await teams.revoke_invitation(
            session, vtuber_id, invitation_id, user_id=principal.user_id, roles=principal.roles
        )
        return Response(status_code=204)

    @router.get("/api/v1/vtubers/{vtuber_id}/changes", response_model=ChangePage)
    async def changes(
        vtuber_id: Id,
        principal: Principal = user,
        session: AsyncSession = session_dep,
        teams: Teams = teams_dep,
        cursor: KeysetCursor = None,
        limit: Limit = 50,
    ) -> ChangePage:
        """The record of changes, newest first (team.manage, admin, compliance)."""
        return await teams.changes(
            session,
            vtuber_id,
            user_id=principal.user_id,
            roles=principal.roles,
            cursor=cursor,
            limit=limit,
        )

    @router.get("/api/v1/vtuber-invitations", response_model=list[InvitationView])
    async def my_invitations(
        principal: Principal = user, session: AsyncSession = session_dep, teams: Teams = teams_dep
    ) -> list[InvitationView]:
        """Open invitations to the caller's verified email address (none while unverified)."""
        return await teams.my_invitations(session, user_id=principal.user_id)

    @router.post(
        "/api/v1/vtuber-invitations/{invitation_id}/accept",
        response_model=MemberView,
        responses={
            403: {"description": "invitation_not_yours, email_not_verified"},
            409: {"description": "invitation_accepted, already_member, vtuber_not_active"},
            410: {"description": "invitation_expired, invitation_revoked"},
        },
    )
    async def accept(
        invitation_id: Id,
        principal: Principal = user,
        session: AsyncSession = session_dep,
        teams: Teams = teams_dep,
    ) -> MemberView:
        """Join the team (the caller's verified email must be the invitation's)."""
        return await teams.accept(session, invitation_id, user_id=principal.user_id)

    @router.get("/api/v1/admin/vtubers", response_model=ApplicationPage)
    async def applications(
        principal: Principal = listers,
        session: AsyncSession = session_dep,
        profiles: Profiles = profiles_dep,
        status: StatusFilter = "pending",
        cursor: KeysetCursor = None,
        limit: Limit = 50,
    ) -> ApplicationPage:
        """VTubers by status, oldest application first (admin, compliance, support)."""
        return await profiles.applications(session, status=status, cursor=cursor, limit=limit)

    @router.post(
        "/api/v1/admin/vtubers/{vtuber_id}/approve",
        response_model=Application,
        responses={409: {"description": "vtuber_status_conflict"}},
    )
    async def approve(
        vtuber_id: Id,
        principal: Principal = deciders,
        session: AsyncSession = session_dep,
        profiles: Profiles = profiles_dep,
    ) -> Application:
        """Approve a pending application or reinstate a suspended VTuber (admin, compliance)."""
        return await profiles.approve(session, vtuber_id, actor_id=principal.user_id)

    @router.post(
        "/api/v1/admin/vtubers/{vtuber_id}/reject",
        response_model=Application,
        responses={409: {"description": "vtuber_status_conflict"}},
    )
    async def reject(
        vtuber_id: Id,
        body: Reason,
        principal: Principal = deciders,
        session: AsyncSession = session_dep,
        profiles: Profiles = profiles_dep,
    ) -> Application:
        """Reject a pending application with a reason (admin, compliance)."""
        return await profiles.reject(
            session, vtuber_id, actor_id=principal.user_id, reason=body.reason
        )

    @router.post(
        "/api/v1/admin/vtubers/{vtuber_id}/suspend",
        response_model=Application,
        responses={409: {"description": "vtuber_status_conflict"}},
    )
    async def suspend(
        vtuber_id: Id,
        body: Reason,
        principal: Principal = deciders,
        session: AsyncSession = session_dep,
        profiles: Profiles = profiles_dep,
    ) -> Application:
        """Suspend an approved VTuber: its team loses every permission (admin, compliance)."""
        return await profiles.suspend(
            session, vtuber_id, actor_id=principal.user_id, reason=body.reason
        )

    @router.put("/api/v1/admin/vtubers/{vtuber_id}/revenue-share", response_model=Application)
    async def revenue_share(
        vtuber_id: Id,
        body: RevenueShare,
        principal: Principal = admins,
        session: AsyncSession = session_dep,
        profiles: Profiles = profiles_dep,
    ) -> Application:
        """Set the VTuber's revenue share in basis points (R1; admin only)."""
        return await profiles.set_revenue_share(
            session, vtuber_id, actor_id=principal.user_id, share_bp=body.share_bp
        )

    return router
