"""Queries of the teams tables (profiles, members, invitations, the record of changes) only."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.vtuber.teams.models import Invitation, Member, TeamChange, VtuberProfile

# (id, display_name, avatar_url, bio, channel_links, applied_at) of the public directory.
DirectoryRow = Row[str, str, str | None, str, list[str], datetime]
# An owner may hold one VTuber that is not rejected: a suspended one cannot be escaped by
# applying again.
OPEN_STATUSES = ("pending", "approved", "suspended")


async def profile(
    session: AsyncSession, vtuber_id: str, *, lock: bool = False
) -> VtuberProfile | None:
    return await session.get(VtuberProfile, vtuber_id, with_for_update=lock)


async def open_profile_of(session: AsyncSession, owner_user_id: str) -> VtuberProfile | None:
    query = select(VtuberProfile).where(
        VtuberProfile.owner_user_id == owner_user_id, VtuberProfile.status.in_(OPEN_STATUSES)
    )
    return (await session.scalars(query.limit(1))).first()


async def profiles_owned_by(session: AsyncSession, user_id: str) -> Sequence[VtuberProfile]:
    query = select(VtuberProfile).where(VtuberProfile.owner_user_id == user_id)
    return (await session.scalars(query.order_by(VtuberProfile.applied_at))).all()


async def profiles(session: AsyncSession, ids: Collection[str]) -> Sequence[VtuberProfile]:
    if not ids:
        return []
    query = select(VtuberProfile).where(VtuberProfile.id.in_(list(ids)))
    return (await session.scalars(query)).all()


async def approved_among(session: AsyncSession, ids: Collection[str]) -> set[str]:
    if not ids:
        return set()
    query = select(VtuberProfile.id).where(
        VtuberProfile.id.in_(list(ids)), VtuberProfile.status == "approved"
    )
    return set((await session.scalars(query)).all())


async def applications(
    session: AsyncSession, status: str, *, after: tuple[datetime, str] | None, limit: int
) -> Sequence[VtuberProfile]:
    """Oldest first (the queue's order), keyset-paginated by (applied_at, id)."""
    query = select(VtuberProfile).where(VtuberProfile.status == status)
    if after is not None:
        moment, key = after
        query = query.where(
            or_(
                VtuberProfile.applied_at > moment,
                and_(VtuberProfile.applied_at == moment, VtuberProfile.id > key),
            )
        )
    query = query.order_by(VtuberProfile.applied_at, VtuberProfile.id).limit(limit)
    return (await session.scalars(query)).all()


async def directory(
    session: AsyncSession,
    *,
    by_name: bool,
    after: tuple[datetime | str, str] | None,
    limit: int,
) -> Sequence[DirectoryRow]:
    """Approved VTubers' public columns only (never the bank or legal name), keyset-paginated:
    newest first by (applied_at, id), or by (display_name, id)."""
    query = select(
        VtuberProfile.id,
        VtuberProfile.display_name,
        VtuberProfile.avatar_url,
        VtuberProfile.bio,
        VtuberProfile.channel_links,
        VtuberProfile.applied_at,
    ).where(VtuberProfile.status == "approved")
    if by_name:
        if after is not None:
            name, key = after
            query = query.where(
                or_(
                    VtuberProfile.display_name > name,
                    and_(VtuberProfile.display_name == name, VtuberProfile.id > key),
                )
            )
        query = query.order_by(VtuberProfile.display_name, VtuberProfile.id)
    else:
        if after is not None:
            moment, key = after
            query = query.where(
                or_(
                    VtuberProfile.applied_at < moment,
                    and_(VtuberProfile.applied_at == moment, VtuberProfile.id < key),
                )
            )
        query = query.order_by(VtuberProfile.applied_at.desc(), VtuberProfile.id.desc())
    return (await session.execute(query.limit(limit))).all()


async def member(
    session: AsyncSession, vtuber_id: str, user_id: str, *, lock: bool = False
) -> Member | None:
    return await session.get(Member, (vtuber_id, user_id), with_for_update=lock)


async def members(session: AsyncSession, vtuber_id: str) -> Sequence[Member]:
    query = select(Member).where(Member.vtuber_id == vtuber_id)
    return (await session.scalars(query.order_by(Member.added_at, Member.user_id))).all()


async def memberships_of(session: AsyncSession, user_id: str) -> Sequence[Member]:
    return (await session.scalars(select(Member).where(Member.user_id == user_id))).all()


async def invitation(
    session: AsyncSession, invitation_id: str, *, lock: bool = False
) -> Invitation | None:
    return await session.get(Invitation, invitation_id, with_for_update=lock)


async def pending_invitations(session: AsyncSession, vtuber_id: str) -> Sequence[Invitation]:
    query = select(Invitation).where(
        Invitation.vtuber_id == vtuber_id, Invitation.status == "pending"
    )
    return (await session.scalars(query.order_by(Invitation.created_at, Invitation.id))).all()


async def open_invitation(
    session: AsyncSession, vtuber_id: str, email: str, now: datetime
) -> Invitation | None:
    query = select(Invitation).where(
        Invitation.vtuber_id == vtuber_id,
        Invitation.email == email,
        Invitation.status == "pending",
        Invitation.expires_at > now,
    )
    return (await session.scalars(query.limit(1))).first()


async def invitations_to(session: AsyncSession, email: str, now: datetime) -> Sequence[Invitation]:
    query = select(Invitation).where(
        Invitation.email == email, Invitation.status == "pending", Invitation.expires_at > now
    )
    return (await session.scalars(query.order_by(Invitation.created_at, Invitation.id))).all()


async def record(
    session: AsyncSession,
    *,
    vtuber_id: str,
    actor_id: str,
    action: str,
    at: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    """One line of the record of changes, in the caller's transaction (with the change)."""
    session.add(
        TeamChange(
            id=str(uuid.uuid4()),
            vtuber_id=vtuber_id,
            actor_id=actor_id,
            action=action,
            detail=detail or {},
            at=at,
        )
    )
    await session.flush()


async def changes(
    session: AsyncSession, vtuber_id: str, *, before: tuple[datetime, str] | None, limit: int
) -> Sequence[TeamChange]:
    """Newest first, keyset-paginated by (at, id)."""
    query = select(TeamChange).where(TeamChange.vtuber_id == vtuber_id)
    if before is not None:
        moment, key = before
        query = query.where(
            or_(TeamChange.at < moment, and_(TeamChange.at == moment, TeamChange.id < key))
        )
    query = query.order_by(TeamChange.at.desc(), TeamChange.id.desc()).limit(limit)
    return (await session.scalars(query)).all()
