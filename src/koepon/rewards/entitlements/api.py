"""Entitlements' routes (filled in by the entitlements work)."""

from __future__ import annotations

from fastapi import APIRouter

from koepon.rewards.context import RewardsContext
from koepon.rewards.entitlements.service import Entitlements


def build_router(ctx: RewardsContext, entitlements: Entitlements) -> APIRouter:
    return APIRouter(tags=["collection"])
