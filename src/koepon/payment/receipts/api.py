"""Receipt routes: the fan's purchase history and the operators' payment view and refunds."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.kernel.tokens import Principal
from koepon.payment.checkout.states import CheckoutStatus
from koepon.payment.context import PaymentContext, provide
from koepon.payment.receipts.schemas import PaymentDetail, PaymentPage, ReceiptPage, RefundRequest
from koepon.payment.receipts.service import Receipts

PAYMENT_VIEWERS = ("admin", "support")
REFUNDERS = ("admin",)


def build_router(ctx: PaymentContext, receipts: Receipts) -> APIRouter:
    router = APIRouter(tags=["receipts"])
    receipts_dep = Depends(provide(receipts))  # the service, as a FastAPI dependency
    user = Depends(ctx.authenticator.user)
    viewer = Depends(ctx.authenticator.roles(*PAYMENT_VIEWERS))
    refunder = Depends(ctx.authenticator.roles(*REFUNDERS))
    session_dep = Depends(ctx.db.session_dependency, scope="function")

    @router.get("/api/v1/receipts", response_model=ReceiptPage)
    async def list_receipts(
        cursor: str | None = Query(None, max_length=200),
        limit: int = Query(20, ge=1, le=100),
        principal: Principal = user,
        session: AsyncSession = session_dep,
        receipts: Receipts = receipts_dep,
    ) -> ReceiptPage:
        """The caller's purchases, newest first, with tax-included amounts (A4, P3)."""
        return await receipts.for_fan(
            session, user_id=principal.user_id, cursor=cursor, limit=limit
        )

    @router.get("/api/v1/admin/payments", response_model=PaymentPage)
    async def list_payments(
        cursor: str | None = Query(None, max_length=200),
        limit: int = Query(50, ge=1, le=100),
        status: CheckoutStatus | None = None,
        provider: Literal["sandbox", "stripe", "komoju"] | None = None,
        user_id: str | None = Query(None, max_length=64),
        _: Principal = viewer,
        session: AsyncSession = session_dep,
        receipts: Receipts = receipts_dep,
    ) -> PaymentPage:
        """Every payment with the provider's references (admin, support)."""
        return await receipts.payments(
            session,
            cursor=cursor,
            limit=limit,
            status=status,
            provider=provider,
            user_id=user_id,
        )

    @router.get("/api/v1/admin/payments/{checkout_id}", response_model=PaymentDetail)
    async def get_payment(
        checkout_id: str,
        _: Principal = viewer,
        session: AsyncSession = session_dep,
        receipts: Receipts = receipts_dep,
    ) -> PaymentDetail:
        """One payment and every provider event applied to it (admin, support)."""
        return await receipts.payment_detail(session, checkout_id=checkout_id)

    @router.post("/api/v1/admin/payments/{checkout_id}/refund", response_model=PaymentDetail)
    async def refund_payment(
        checkout_id: str,
        body: RefundRequest,
        principal: Principal = refunder,
        receipts: Receipts = receipts_dep,
    ) -> PaymentDetail:
        """Refund a paid purchase through its provider, with its legal ground (M5, admin)."""
        return await receipts.refund(
            checkout_id=checkout_id, legal_ground=body.legal_ground, actor=principal.user_id
        )

    return router
