"""Draw routes (API.md "Gachas"): draw, read a draw, history, its log proof, the fan's standing
in a gacha, and the fairness description."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.gacha.context import GachaContext, provide
from koepon.gacha.draws.exchanges import Exchanges
from koepon.gacha.draws.models import Draw
from koepon.gacha.draws.reversals import Reversals
from koepon.gacha.draws.schemas import (
    DrawAccepted,
    DrawCreate,
    DrawPage,
    DrawRead,
    ExchangeCreate,
    ExchangeRead,
    FairnessRead,
    FanStanding,
    InclusionProofRead,
    ReversalCreate,
    ReversalRead,
)
from koepon.gacha.draws.service import Draws, read
from koepon.gacha.draws.states import DrawStatus, ended_status
from koepon.gacha.draws.tasks import DrawWorker
from koepon.gacha.draws.verification import Verifications
from koepon.gacha.errors import DrawFailed, GachaNotLive
from koepon.gacha.fairness.rng import ALGORITHM_VERSION
from koepon.kernel.idempotency import idempotency_key, request_fingerprint
from koepon.kernel.pagination import KeysetCursor
from koepon.kernel.tokens import Principal

Id = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
FAIRNESS = (
    'Each slot is drawn with HMAC-SHA256(server seed, "{client_seed}:{nonce}:{round}"), read '
    "as 32-bit big-endian integers; the first integer below 2^32 - (2^32 mod W) picks the item "
    "whose cumulative weight exceeds it mod W (rejection sampling: no modulo bias, no floats). "
    "The server seed's SHA-256 is shown before use and the seed is revealed when you rotate "
    "your seed pair; every completed draw is a leaf of the public draw log."
)


def _answer(draw: Draw) -> JSONResponse:
    """200 with the results once completed; the refusal that ended it; else 202 to poll."""
    status = DrawStatus(draw.status)
    if status is DrawStatus.COMPLETED:
        return JSONResponse(read(draw).model_dump(mode="json"), status_code=200)
    if status in (DrawStatus.REFUSED, DrawStatus.VOIDED):
        raise DrawFailed(
            draw.code or "draw_failed",
            draw.detail or "the draw ended without items; nothing was spent",
            ended_status(draw.code),
            draw_id=draw.id,
        )
    accepted = DrawAccepted(id=draw.id, status=draw.status)
    return JSONResponse(
        accepted.model_dump(),
        status_code=202,
        headers={"Location": f"/api/v1/draws/{draw.id}", "Retry-After": "1"},
    )


def build_router(
    ctx: GachaContext,
    draws: Draws,
    worker: DrawWorker,
    exchanges: Exchanges,
    verifications: Verifications,
) -> APIRouter:
    router = APIRouter(tags=["draws"])
    user = Depends(ctx.authenticator.user)
    session_dep = Depends(ctx.db.session_dependency, scope="function")
    # The history list may lag by the read replica's delay; one draw (just made, polled) is
    # read on the primary (docs/DEPLOY.md "Read replicas").
    reader_dep = Depends(ctx.db.reader.session_dependency, scope="function")
    draws_dep = Depends(provide(draws))
    exchanges_dep = Depends(provide(exchanges))
    verifications_dep = Depends(provide(verifications))
    required_key = Depends(idempotency_key())

    @router.post(
        "/api/v1/gachas/{gacha_id}/draws",
        status_code=202,
        response_model=DrawRead,
        responses={
            200: {"description": "the draw completed within the wait: its results"},
            202: {"model": DrawAccepted, "description": "queued: poll GET /api/v1/draws/{id}"},
            402: {"description": "insufficient_medals: nothing was spent"},
            403: {"description": "draw_limit_reached, draw_cap_exceeded, cooling_off_active"},
            404: {"description": "gacha_not_found"},
            409: {"description": "gacha_not_live, box_sold_out, idempotency_in_flight"},
            422: {"description": "invalid_count, idempotency_key_reused, validation"},
            503: {"description": "payment_unavailable: nothing was spent (Retry-After)"},
        },
    )
    async def draw(
        gacha_id: Id,
        body: DrawCreate,
        request: Request,
        principal: Principal = user,
        key: str = required_key,
        draws: Draws = draws_dep,
    ) -> JSONResponse:
        """Draw once or 10連 (COMPLIANCE P2: the page shows the final confirmation first).
        Needs an ``Idempotency-Key``: the same key and body always mean the same draw."""
        claimed = False

        async def claim() -> bool:
            nonlocal claimed
            claimed = await worker.claim()
            return claimed

        try:
            accepted = await draws.accept(
                user_id=principal.user_id,
                gacha_id=gacha_id,
                count=body.count,
                key=key,
                fingerprint=await request_fingerprint(request),
                show_on_stream=body.show_on_stream,
                claim=claim,
            )
        except BaseException:
            if claimed:
                worker.release()
            raise
        # A claimed slot always made an inline draw (accept claims only once the row is in).
        running = worker.start_claimed(accepted.draw.id, accepted.draw) if accepted.inline else None
        wait = ctx.gacha_settings.draw_wait_ms / 1000
        if accepted.created and running is None:
            # Queued (requests waiting for their turn, or every saga slot of this process
            # busy): answer 202 now rather than read its row every 50 ms for the whole wait
            # (thousands of such polls took the pool from the accepts: 503s).
            wait = 0
        try:
            final = await draws.settle(accepted.draw.id, running, wait_seconds=wait)
        except Exception:
            # The draw is accepted and will be made: never answer an error for it now (the
            # fan would retry or give up on a draw that is going ahead). Poll it instead.
            final = accepted.draw
        response = _answer(final)
        if not accepted.created:
            response.headers["Idempotent-Replayed"] = "true"
        return response

    @router.get("/api/v1/draws/{draw_id}", response_model=DrawRead)
    async def get_draw(
        draw_id: Id,
        principal: Principal = user,
        session: AsyncSession = session_dep,
        draws: Draws = draws_dep,
    ) -> DrawRead:
        """One of the caller's draws: status, results once completed, seeds and odds version."""
        return read(await draws.get_own(session, user_id=principal.user_id, draw_id=draw_id))

    @router.get("/api/v1/draws", response_model=DrawPage)
    async def list_draws(
        principal: Principal = user,
        session: AsyncSession = reader_dep,
        draws: Draws = draws_dep,
        cursor: KeysetCursor = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> DrawPage:
        """The caller's draws, newest first (COMPLIANCE A4)."""
        items, next_cursor = await draws.history(
            session, user_id=principal.user_id, limit=limit, cursor=cursor
        )
        return DrawPage(items=items, next_cursor=next_cursor)

    @router.get(
        "/api/v1/draws/{draw_id}/proof",
        response_model=InclusionProofRead,
        responses={409: {"description": "not_yet_logged (Retry-After)"}},
    )
    async def draw_proof(
        draw_id: Id,
        principal: Principal = user,
        session: AsyncSession = session_dep,
        draws: Draws = draws_dep,
    ) -> InclusionProofRead:
        """The draw's place in the public draw log: its leaf, an inclusion proof and the signed
        checkpoint it verifies against."""
        return await draws.proof(session, user_id=principal.user_id, draw_id=draw_id)

    @router.get(
        "/api/v1/draws/{draw_id}/verification",
        responses={409: {"description": "seed_not_revealed: rotate the seed pair first"}},
    )
    async def draw_verification(
        draw_id: Id,
        principal: Principal = user,
        session: AsyncSession = session_dep,
        draws: Draws = draws_dep,
        verifications: Verifications = verifications_dep,
    ) -> dict[str, Any]:
        """The ``draw.json`` for the standalone verifier (docs/FAIRNESS.md): the revealed
        server seed, the odds version's tables, the slots and the draw's log proof."""
        draw = await draws.get_own(session, user_id=principal.user_id, draw_id=draw_id)
        return await verifications.bundle(session, draw)

    @router.post(
        "/api/v1/gachas/{gacha_id}/exchanges",
        status_code=201,
        response_model=ExchangeRead,
        responses={409: {"description": "exchange_refused: not offered, or too few points"}},
    )
    async def exchange(
        gacha_id: Id,
        body: ExchangeCreate,
        request: Request,
        principal: Principal = user,
        key: str = required_key,
        exchanges: Exchanges = exchanges_dep,
    ) -> JSONResponse:
        """Spend exchange points (交換ポイント) on a chosen item. Needs an ``Idempotency-Key``."""
        made, created = await exchanges.exchange(
            user_id=principal.user_id,
            gacha_id=gacha_id,
            item_id=body.item_id,
            key=key,
            fingerprint=await request_fingerprint(request),
        )
        headers = {} if created else {"Idempotent-Replayed": "true"}
        return JSONResponse(made.model_dump(mode="json"), status_code=201, headers=headers)

    @router.get("/api/v1/gachas/{gacha_id}/me", response_model=FanStanding)
    async def standing(
        gacha_id: Id,
        principal: Principal = user,
        session: AsyncSession = session_dep,
        draws: Draws = draws_dep,
    ) -> FanStanding:
        """The caller's standing in a gacha: pity (天井) progress, exchange points, draws left."""
        return await draws.standing(session, user_id=principal.user_id, gacha_id=gacha_id)

    @router.get("/api/v1/gachas/{gacha_id}/fairness", response_model=FairnessRead)
    async def fairness(gacha_id: Id, draws: Draws = draws_dep) -> FairnessRead:
        """The provably fair algorithm this gacha's draws use (COMPLIANCE G9)."""
        try:
            await draws.catalog.live(gacha_id)
        except GachaNotLive:
            pass  # an upcoming or ended gacha is drawn (or was) with the same algorithm
        return FairnessRead(
            algorithm_version=ALGORITHM_VERSION,
            description=FAIRNESS,
            verifier="python3 verifier.py draw.json (docs/FAIRNESS.md)",
        )

    return router


def build_admin_router(ctx: GachaContext, reversals: Reversals) -> APIRouter:
    """Operators' draw routes (``admin`` only: a reversal takes items away from a fan)."""
    router = APIRouter(tags=["draws"])
    admin = Depends(ctx.authenticator.roles("admin"))
    session_dep = Depends(ctx.db.session_dependency, scope="function")
    reversals_dep = Depends(provide(reversals))

    @router.post(
        "/api/v1/admin/draws/{draw_id}/reverse",
        response_model=ReversalRead,
        responses={
            404: {"description": "draw_not_found"},
            409: {"description": "draw_not_reversible: the draw is not completed"},
        },
    )
    async def reverse(
        draw_id: Id,
        body: ReversalCreate,
        principal: Principal = admin,
        session: AsyncSession = session_dep,
        reversals: Reversals = reversals_dep,
    ) -> ReversalRead:
        """Reverse a completed draw (e.g. its purchase was charged back): the rewards service
        revokes the items it granted; the draw stays in the history and the public log.
        Reversing again answers the first reversal."""
        return await reversals.reverse(session, principal.user_id, draw_id, body.reason)

    return router
