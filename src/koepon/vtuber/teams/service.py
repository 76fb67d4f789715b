"""A VTuber's team: members, invitations, the record of changes, and permissions."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.vtuber import Permission
from koepon.vtuber.context import VtuberContext
from koepon.vtuber.teams.profiles import Profiles


class Teams:
    def __init__(self, ctx: VtuberContext, profiles: Profiles) -> None:
        self.ctx = ctx
        self.profiles = profiles

    async def permissions(
        self, session: AsyncSession, vtuber_id: str, user_id: str, roles: frozenset[str]
    ) -> frozenset[Permission]:
        """What ``user_id`` with platform ``roles`` may do for ``vtuber_id`` (the policy module
        decides; this reads the facts it needs). INTERIM until the teams work lands: admins
        all, the owner of an approved VTuber all, anyone else nothing."""
        if "admin" in roles:
            return frozenset(Permission)
        profile = await self.profiles.get(session, vtuber_id)
        if profile is None or profile.status != "approved":
            return frozenset()
        if profile.owner_user_id == user_id:
            return frozenset(Permission)
        return frozenset()
