"""Collection routes (API.md "Collection and downloads"): what the signed-in fan owns."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.gacha import Rarity
from koepon.kernel.pagination import KeysetCursor
from koepon.kernel.tokens import Principal
from koepon.rewards.context import RewardsContext, provide
from koepon.rewards.entitlements.schemas import CollectionItem, CollectionPage
from koepon.rewards.entitlements.service import Entitlements

EntitlementId = Annotated[str, Path(pattern=r"^[0-9A-Za-z-]{1,64}$")]
Limit = Annotated[int, Query(ge=1, le=100, description="Items per page (1–100)")]
VtuberFilter = Annotated[
    str | None,
    Query(pattern=r"^[0-9A-Za-z_-]{1,64}$", description="Only this VTuber's items"),
]
RarityFilter = Annotated[Rarity | None, Query(description="Only items of this rarity")]


def build_router(ctx: RewardsContext, entitlements: Entitlements) -> APIRouter:
    router = APIRouter(tags=["collection"])
    user = Depends(ctx.authenticator.user)
    session_dep = Depends(ctx.db.session_dependency, scope="function")
    entitlements_dep = Depends(provide(entitlements))

    @router.get(
        "/api/v1/collection",
        response_model=CollectionPage,
        responses={422: {"description": "invalid_cursor, or a filter that is not valid"}},
    )
    async def collection(
        principal: Principal = user,
        session: AsyncSession = session_dep,
        entitlements: Entitlements = entitlements_dep,
        cursor: KeysetCursor = None,
        limit: Limit = 20,
        vtuber_id: VtuberFilter = None,
        rarity: RarityFilter = None,
    ) -> CollectionPage:
        """The caller's items, newest first: count for duplicates, the serial number of a
        limited item ("No. 12/100"), and title, kind and preview once the content is known."""
        return await entitlements.collection(
            session,
            principal.user_id,
            limit=limit,
            cursor=cursor,
            vtuber_id=vtuber_id,
            rarity=rarity,
        )

    @router.get(
        "/api/v1/collection/{entitlement_id}",
        response_model=CollectionItem,
        responses={404: {"description": "entitlement_not_found: unknown, or not the caller's"}},
    )
    async def collection_item(
        entitlement_id: EntitlementId,
        principal: Principal = user,
        session: AsyncSession = session_dep,
        entitlements: Entitlements = entitlements_dep,
    ) -> CollectionItem:
        """One of the caller's items (also a revoked one, with ``status`` "revoked")."""
        return await entitlements.one(session, principal.user_id, entitlement_id)

    return router
