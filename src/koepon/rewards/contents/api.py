"""Contents' routes (filled in by the contents work)."""

from __future__ import annotations

from fastapi import APIRouter

from koepon.rewards.contents.service import Contents
from koepon.rewards.context import RewardsContext


def build_router(ctx: RewardsContext, contents: Contents) -> APIRouter:
    return APIRouter(tags=["contents"])
