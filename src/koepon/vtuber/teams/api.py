"""The teams routes (filled by the teams work)."""

from __future__ import annotations

from fastapi import APIRouter

from koepon.vtuber.context import VtuberContext
from koepon.vtuber.teams.profiles import Profiles
from koepon.vtuber.teams.service import Teams


def build_router(ctx: VtuberContext, profiles: Profiles, teams: Teams) -> APIRouter:
    router = APIRouter()
    return router
