"""Contents' use cases (filled in by the contents work)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.rewards.contents.schemas import ContentView
from koepon.rewards.context import RewardsContext


class Contents:
    def __init__(self, ctx: RewardsContext) -> None:
        self.ctx = ctx

    async def get_many(
        self, session: AsyncSession, content_ids: Collection[str]
    ) -> dict[str, ContentView]:
        """The contents with these ids that exist (any status), by id."""
        return {}

    async def original(self, content: ContentView) -> bytes:
        """The original file's bytes (private: only downloads and exports read it)."""
        return await self.ctx.storage.get(content.storage_key)
