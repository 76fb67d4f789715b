"""Draw-log routes (INTERFACE STUB: the draw-log helper replaces it)."""

from __future__ import annotations

from fastapi import APIRouter

from koepon.gacha.context import GachaContext
from koepon.gacha.transparency.service import DrawLog


def build_router(ctx: GachaContext, log: DrawLog) -> APIRouter:
    return APIRouter(tags=["draw log"])
