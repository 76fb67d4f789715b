"""Checkout routes: start a purchase (Idempotency-Key required), read it back, cancel it."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.kernel.idempotency import (
    IdempotencyKeys,
    StoredResponse,
    idempotency_key,
    request_fingerprint,
)
from koepon.kernel.problems import PROBLEM_JSON, Problem
from koepon.kernel.tokens import Principal
from koepon.payment.checkout.schemas import CheckoutCreate, CheckoutRead
from koepon.payment.checkout.service import Checkouts
from koepon.payment.context import PaymentContext, provide


def _respond(stored: StoredResponse, *, replayed: bool) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    media = PROBLEM_JSON if stored.status >= 400 else "application/json"
    return JSONResponse(stored.body, status_code=stored.status, headers=headers, media_type=media)


def build_router(ctx: PaymentContext, checkouts: Checkouts, keys: IdempotencyKeys) -> APIRouter:
    router = APIRouter(tags=["checkouts"])
    keys_dep = Depends(provide(keys))  # the service, as a FastAPI dependency
    checkouts_dep = Depends(provide(checkouts))  # the service, as a FastAPI dependency
    user = Depends(ctx.authenticator.user)
    session_dep = Depends(ctx.db.session_dependency, scope="function")
    required_key = Depends(idempotency_key())

    @router.post(
        "/api/v1/checkouts",
        status_code=201,
        response_model=CheckoutRead,
        responses={
            403: {"description": "birthdate_required, spending_cap_exceeded, cooling_off_active"},
            409: {"description": "idempotency_in_flight"},
            422: {"description": "idempotency_key_reused, validation"},
            503: {"description": "provider_unavailable"},
        },
    )
    async def create_checkout(
        request: Request,
        body: CheckoutCreate,
        principal: Principal = user,
        key: str = required_key,
        checkouts: Checkouts = checkouts_dep,
        keys: IdempotencyKeys = keys_dep,
    ) -> JSONResponse:
        """Start buying a medal pack: returns the hosted payment page to send the fan to, the
        final confirmation (P2) and the disclosures (M4). Needs an ``Idempotency-Key``."""
        claimed = await keys.claim(
            scope=principal.user_id, key=key, fingerprint=await request_fingerprint(request)
        )
        if isinstance(claimed, StoredResponse):
            return _respond(claimed, replayed=True)
        try:
            stored = await checkouts.create(user_id=principal.user_id, body=body, claim=claimed)
        except Problem:
            # A refusal changed nothing (or undid its reservation): the key may be used again.
            await keys.release(claimed, forget_recovery=True)
            raise
        except BaseException:
            # Unknown state: keep the recovery point so a retry resumes where this stopped.
            await keys.release(claimed)
            raise
        return _respond(stored, replayed=False)

    @router.get("/api/v1/checkouts/{checkout_id}", response_model=CheckoutRead)
    async def get_checkout(
        checkout_id: str,
        principal: Principal = user,
        session: AsyncSession = session_dep,
        checkouts: Checkouts = checkouts_dep,
    ) -> CheckoutRead:
        """One of the caller's checkouts, with its current status."""
        checkout = await checkouts.get_own(
            session, user_id=principal.user_id, checkout_id=checkout_id
        )
        return await checkouts.read(session, checkout)

    @router.post(
        "/api/v1/checkouts/{checkout_id}/cancel",
        response_model=CheckoutRead,
        responses={
            404: {"description": "checkout_not_found (also another fan's checkout)"},
            409: {"description": "checkout_not_cancellable: paid, pending or ended otherwise"},
            503: {"description": "provider_unavailable: nothing was cancelled"},
        },
    )
    async def cancel_checkout(
        checkout_id: str, principal: Principal = user, checkouts: Checkouts = checkouts_dep
    ) -> CheckoutRead:
        """Give up one of the caller's unpaid checkouts: the provider's page is ended, the
        checkout becomes ``cancelled`` and its room under the monthly cap is free at once.
        Cancelling again answers the same. No request transaction: the provider is called
        with none open (the sandbox reports the cancel by webhook meanwhile)."""
        return await checkouts.cancel(user_id=principal.user_id, checkout_id=checkout_id)

    return router
