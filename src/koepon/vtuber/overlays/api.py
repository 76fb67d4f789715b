"""Routes of the overlay URL: the team's view and rotation (profile.edit), the public resolve.

Every answer here says ``Cache-Control: no-store``: a token, or what it opens, is never kept by
a browser or a proxy.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.vtuber import Permission
from koepon.kernel.idempotency import idempotency_key
from koepon.kernel.tokens import Principal
from koepon.vtuber.context import VtuberContext, provide
from koepon.vtuber.errors import NO_STORE
from koepon.vtuber.overlays.schemas import OverlayKeyView, OverlayRotated, OverlayView
from koepon.vtuber.overlays.service import Overlays, without_secret
from koepon.vtuber.teams.guards import Id, team_permission
from koepon.vtuber.teams.replays import Replays
from koepon.vtuber.teams.service import Teams

# Any text: the shape is checked by the use case, so a malformed token gets the same no-store
# problem as every other answer about tokens (and never reaches the database).
Token = Annotated[str, Path(description="The overlay URL's secret token")]


def build_router(ctx: VtuberContext, overlays: Overlays, teams: Teams) -> APIRouter:
    router = APIRouter(tags=["overlays"])
    user = Depends(ctx.authenticator.user)
    session_dep = Depends(ctx.db.session_dependency, scope="function")
    overlays_dep = Depends(provide(overlays))
    optional_key = Depends(idempotency_key(required=False))
    replays = Replays(ctx)
    edits_profile = [Depends(team_permission(ctx, teams, Permission.PROFILE_EDIT))]

    @router.get(
        "/api/v1/vtubers/{vtuber_id}/overlay",
        response_model=OverlayKeyView,
        dependencies=edits_profile,
    )
    async def overlay(
        vtuber_id: Id,
        response: Response,
        principal: Principal = user,
        session: AsyncSession = session_dep,
        overlays: Overlays = overlays_dep,
    ) -> OverlayKeyView:
        """The overlay URL without its secret: hint and creation time (profile.edit)."""
        response.headers.update(NO_STORE)
        return await overlays.current(
            session, vtuber_id, user_id=principal.user_id, roles=principal.roles
        )

    @router.post(
        "/api/v1/vtubers/{vtuber_id}/overlay/rotate",
        status_code=201,
        response_model=OverlayRotated,
        responses={
            409: {"description": "idempotency_in_flight"},
            422: {"description": "idempotency_key_reused"},
        },
        dependencies=edits_profile,
    )
    async def rotate(
        request: Request,
        vtuber_id: Id,
        principal: Principal = user,
        key: str | None = optional_key,
    ) -> JSONResponse:
        """A new overlay URL, its token shown this once; the previous URL stops working
        (profile.edit). A replay for the same Idempotency-Key rotates nothing and answers
        without the token (it is never stored)."""
        answer = await replays.once(
            request,
            user_id=principal.user_id,
            key=key,
            status=201,
            use_case=lambda session: overlays.rotate(
                session, vtuber_id, user_id=principal.user_id, roles=principal.roles
            ),
            stored_as=without_secret,
        )
        answer.headers.update(NO_STORE)
        return answer

    @router.get(
        "/api/v1/overlays/{token}",
        response_model=OverlayView,
        responses={
            404: {"description": "overlay_not_found (unknown, rotated, VTuber not approved)"},
            422: {"description": "invalid_overlay_token"},
        },
    )
    async def resolve(
        token: Token, response: Response, overlays: Overlays = overlays_dep
    ) -> OverlayView:
        """What an overlay shows (no account: the token is the credential)."""
        response.headers.update(NO_STORE)
        return await overlays.resolve(token)

    return router
