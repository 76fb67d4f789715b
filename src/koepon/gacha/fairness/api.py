"""Seed routes (API.md): see the committed seed, set the client seed, rotate (reveal), history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.gacha.context import GachaContext, provide
from koepon.gacha.fairness.schemas import (
    ClientSeedUpdate,
    RevealedPage,
    Rotation,
    SeedsRead,
)
from koepon.gacha.fairness.service import Seeds
from koepon.kernel.pagination import KeysetCursor
from koepon.kernel.tokens import Principal


def build_router(ctx: GachaContext, seeds: Seeds) -> APIRouter:
    router = APIRouter(tags=["fairness"])
    user = Depends(ctx.authenticator.user)
    session_dep = Depends(ctx.db.session_dependency, scope="function")
    seeds_dep = Depends(provide(seeds))

    @router.get("/api/v1/me/seeds", response_model=SeedsRead)
    async def current_seeds(
        principal: Principal = user,
        session: AsyncSession = session_dep,
        seeds: Seeds = seeds_dep,
    ) -> SeedsRead:
        """The caller's active seed pair: the SHA-256 of the server seed (committed before any
        slot uses it), the client seed and the next nonce (COMPLIANCE G9)."""
        return await seeds.current(session, principal.user_id)

    @router.put(
        "/api/v1/me/seeds/client-seed",
        response_model=SeedsRead,
        responses={422: {"description": "invalid_client_seed: 1–64 printable ASCII characters"}},
    )
    async def set_client_seed(
        body: ClientSeedUpdate,
        principal: Principal = user,
        session: AsyncSession = session_dep,
        seeds: Seeds = seeds_dep,
    ) -> SeedsRead:
        """Choose the client seed mixed into the caller's next slots."""
        return await seeds.set_client_seed(session, principal.user_id, body.client_seed)

    @router.post("/api/v1/me/seeds/rotate", response_model=Rotation)
    async def rotate_seeds(
        principal: Principal = user,
        session: AsyncSession = session_dep,
        seeds: Seeds = seeds_dep,
    ) -> Rotation:
        """Reveal the active server seed (every draw made with it can now be re-computed) and
        commit a new one."""
        return await seeds.rotate(session, principal.user_id)

    @router.get("/api/v1/me/seeds/revealed", response_model=RevealedPage)
    async def revealed_seeds(
        principal: Principal = user,
        session: AsyncSession = session_dep,
        seeds: Seeds = seeds_dep,
        cursor: KeysetCursor = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> RevealedPage:
        """The caller's earlier, revealed seed pairs, newest first."""
        items, next_cursor = await seeds.history(
            session, principal.user_id, limit=limit, cursor=cursor
        )
        return RevealedPage(items=items, next_cursor=next_cursor)

    return router
