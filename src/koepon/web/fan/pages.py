"""The area's router: the fan site's gacha part (issue 12) — home, gacha pages with the odds
disclosure, the final confirmation before a paid draw, the draw's 演出, the collection."""

from __future__ import annotations

from fastapi import APIRouter

from koepon.kernel.routers import attach
from koepon.web.fan import collection, draws, gachas

router = APIRouter(include_in_schema=False)
for part in (gachas, draws, collection):
    attach(router, part.router)
