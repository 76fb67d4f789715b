"""Entitlements' use cases (filled in by the entitlements work)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.kernel.bus import Message
from koepon.rewards.contents.service import Contents
from koepon.rewards.context import RewardsContext
from koepon.rewards.entitlements.schemas import EntitlementView
from koepon.rewards.errors import EntitlementNotFound


class Entitlements:
    def __init__(self, ctx: RewardsContext, contents: Contents) -> None:
        self.ctx = ctx
        self.contents = contents

    async def handle(self, message: Message) -> None:
        """Consumer of ``gacha.draw.completed.v1`` / ``gacha.item.exchanged.v1``."""

    async def for_download(
        self, session: AsyncSession, user_id: str, entitlement_id: str
    ) -> EntitlementView:
        """The fan's own live entitlement; ``EntitlementNotFound`` for anyone else's or an
        unknown id, ``EntitlementRevoked`` for a revoked one."""
        raise EntitlementNotFound("No such entitlement")

    async def all_live(self, session: AsyncSession, user_id: str) -> list[EntitlementView]:
        """Every live entitlement of the fan (the export)."""
        return []
