"""Draw-log routes (API.md "Gachas"): the public log anyone may read and check, no token.

The per-draw inclusion proof (``GET /api/v1/draws/{id}/proof``) is the draws router's: it needs
the draw's owner; it calls ``DrawLog.proof``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.gacha.context import GachaContext, provide
from koepon.gacha.transparency.schemas import ConsistencyProof, LogEntries
from koepon.gacha.transparency.service import DrawLog
from koepon.kernel.pagination import MAX_SEQUENCE

TEXT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {}}, "description": "text/plain"}
}
RANGE: dict[int | str, dict[str, Any]] = {
    422: {"description": "invalid_log_range (the parameter is named) or validation_failed"}
}
# A tree size or leaf index: a whole number that fits the database's key, else 422 up front.
Size = Annotated[int, Query(ge=0, le=MAX_SEQUENCE)]


def build_router(ctx: GachaContext, log: DrawLog) -> APIRouter:
    router = APIRouter(tags=["draw log"])
    session_dep = Depends(ctx.db.session_dependency, scope="function")
    log_dep = Depends(provide(log))

    @router.get("/api/v1/draw-log/checkpoint", response_class=PlainTextResponse, responses={**TEXT})
    async def latest_checkpoint(log: DrawLog = log_dep) -> PlainTextResponse:
        """The latest signed tree head: a C2SP ``tlog-checkpoint`` signed note (origin, size,
        base64 root hash) signed with the log's Ed25519 key."""
        note = await log.latest_checkpoint()
        return PlainTextResponse(note, headers={"Cache-Control": "no-cache"})

    @router.get(
        "/api/v1/draw-log/checkpoints",
        response_class=PlainTextResponse,
        responses={**TEXT, 404: {"description": "checkpoint_not_found: none of that size"}},
    )
    async def checkpoint_of_size(
        size: Size, session: AsyncSession = session_dep, log: DrawLog = log_dep
    ) -> PlainTextResponse:
        """The checkpoint published for this tree size (an older one, to check that the log
        only grew since)."""
        note = await log.checkpoint(session, size)
        return PlainTextResponse(note, headers={"Cache-Control": "public, max-age=86400"})

    @router.get("/api/v1/draw-log/key", response_class=PlainTextResponse, responses={**TEXT})
    async def verifier_key(log: DrawLog = log_dep) -> PlainTextResponse:
        """The log's Ed25519 public key in signed-note verifier-key form
        (``name+keyid+base64key``); its name is the log's origin."""
        return PlainTextResponse(log.verifier_key(), headers={"Cache-Control": "max-age=3600"})

    @router.get(
        "/api/v1/draw-log/consistency", response_model=ConsistencyProof, responses={**RANGE}
    )
    async def consistency(
        first: Size, second: Size, session: AsyncSession = session_dep, log: DrawLog = log_dep
    ) -> ConsistencyProof:
        """RFC 9162 consistency proof: the log of ``second`` entries is the log of ``first``
        entries with entries added (0 ≤ first ≤ second ≤ the latest checkpoint's size)."""
        return await log.consistency(session, first, second)

    @router.get("/api/v1/draw-log/leaves", response_model=LogEntries, responses={**RANGE})
    async def leaves(
        start: Size,
        end: Size,
        session: AsyncSession = session_dep,
        log: DrawLog = log_dep,
    ) -> LogEntries:
        """Entries ``start`` … ``end - 1`` of the log (at most 1000, within the latest
        checkpoint): each draw record as the exact canonical JSON hashed, so monitors can
        recompute the tree and compare it with the signed checkpoints."""
        return await log.leaves(session, start, end)

    return router
