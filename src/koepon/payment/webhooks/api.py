"""Webhook route: providers post signed events here (no token; the signature authenticates)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from koepon.kernel.problems import Problem
from koepon.payment.context import PaymentContext, provide
from koepon.payment.webhooks.service import Webhooks


async def _raw_body(request: Request, limit: int) -> bytes:
    """The exact bytes the provider signed, refused past ``limit`` without reading them all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Problem(413, "payload_too_large", f"Webhook bodies are limited to {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Problem(413, "payload_too_large", f"Webhook bodies are limited to {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def build_router(ctx: PaymentContext, webhooks: Webhooks) -> APIRouter:
    router = APIRouter(tags=["webhooks"])
    webhooks_dep = Depends(provide(webhooks))  # the service, as a FastAPI dependency

    @router.post("/api/v1/webhooks/{provider}")
    async def receive_webhook(
        provider: str, request: Request, webhooks: Webhooks = webhooks_dep
    ) -> dict[str, Any]:
        """A provider's signed event. 2xx once verified (duplicates included); 4xx if forged,
        stale or malformed, and then nothing changes."""
        body = await _raw_body(request, ctx.payment_settings.webhook_max_body_bytes)
        return await webhooks.receive(provider, body=body, headers=request.headers)

    return router
