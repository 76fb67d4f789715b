"""POSTs that create something, made safe to retry with an ``Idempotency-Key`` (optional here).

The key is claimed in its own transaction (``kernel.idempotency``); the use case runs in one
transaction that also stores its answer, so the answer is kept if and only if the change
committed. A retry with the same key and body gets the stored answer (``Idempotent-Replayed``);
a refusal frees the key. Without a key the use case simply runs once per request (its own
rules refuse a duplicate application or invitation).

An answer holding a secret (a new overlay token) is stored through ``stored_as``, which drops the
secret: the first answer carries it, a replay does not, and the secret is never kept.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.kernel.idempotency import IdempotencyKeys, StoredResponse, request_fingerprint
from koepon.kernel.problems import PROBLEM_JSON
from koepon.vtuber.context import VtuberContext
from koepon.vtuber.models import idempotency_keys

UseCase = Callable[[AsyncSession], Awaitable[BaseModel]]
Body = dict[str, Any]


def _respond(stored: StoredResponse, *, replayed: bool) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    media = PROBLEM_JSON if stored.status >= 400 else "application/json"
    return JSONResponse(stored.body, status_code=stored.status, headers=headers, media_type=media)


class Replays:
    def __init__(self, ctx: VtuberContext) -> None:
        self.ctx = ctx
        self.keys = IdempotencyKeys(
            ctx.db,
            idempotency_keys,
            lock_seconds=ctx.settings.idempotency_lock_seconds,
            keep_hours=ctx.settings.idempotency_keep_hours,
            clock=ctx.now,
        )

    async def once(
        self,
        request: Request,
        *,
        user_id: str,
        key: str | None,
        status: int,
        use_case: UseCase,
        stored_as: Callable[[Body], Body] | None = None,
    ) -> JSONResponse:
        if key is None:
            async with self.ctx.db.transaction() as session:
                result = await use_case(session)
            return JSONResponse(result.model_dump(mode="json"), status_code=status)
        claimed = await self.keys.claim(
            scope=user_id, key=key, fingerprint=await request_fingerprint(request)
        )
        if isinstance(claimed, StoredResponse):
            return _respond(claimed, replayed=True)
        try:
            async with self.ctx.db.transaction() as session:
                result = await use_case(session)
                body = result.model_dump(mode="json")
                kept = stored_as(body) if stored_as is not None else body
                await self.keys.complete(session, claimed, status=status, body=kept)
        except BaseException:
            # Nothing committed (one transaction): the key may be used again at once.
            await self.keys.release(claimed, forget_recovery=True)
            raise
        return _respond(StoredResponse(status, body), replayed=False)
