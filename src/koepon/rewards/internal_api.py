"""The rewards service's routes for other services (under /internal/rewards, internal token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from koepon.contracts.rewards import MAX_CONTENT_IDS, ContentFacts
from koepon.kernel.internal import internal_guard
from koepon.rewards.client import InProcessRewardsContents
from koepon.rewards.context import RewardsContext

ContentId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class LookupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content_ids: list[ContentId] = Field(min_length=1, max_length=MAX_CONTENT_IDS)


class LookupOut(BaseModel):
    contents: list[ContentFacts]


def build_internal_router(ctx: RewardsContext, client: InProcessRewardsContents) -> APIRouter:
    router = APIRouter(
        prefix="/internal/rewards", dependencies=[Depends(internal_guard(ctx.settings))]
    )

    @router.post("/contents/lookup", response_model=LookupOut)
    async def lookup(body: LookupIn) -> LookupOut:
        """Which of these contents exist, whose they are and whether they are ready."""
        found = await client.contents(body.content_ids)
        return LookupOut(contents=list(found.values()))

    return router
