"""The payouts routes (filled by the payouts work)."""

from __future__ import annotations

from fastapi import APIRouter

from koepon.vtuber.context import VtuberContext
from koepon.vtuber.payouts.service import Payouts


def build_router(ctx: VtuberContext, payouts: Payouts) -> APIRouter:
    router = APIRouter()
    return router
