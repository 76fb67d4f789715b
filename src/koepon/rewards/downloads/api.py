"""Downloads' routes (filled in by the downloads work)."""

from __future__ import annotations

from fastapi import APIRouter

from koepon.rewards.context import RewardsContext
from koepon.rewards.downloads.service import Downloads


def build_router(ctx: RewardsContext, downloads: Downloads) -> APIRouter:
    return APIRouter(tags=["downloads"])
