"""Receipts for fans, the payment view and refunds for operators, reconciliation with providers."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.kernel.clock import as_utc
from koepon.kernel.money import yen_label
from koepon.kernel.pagination import decode_keyset, encode_keyset
from koepon.kernel.problems import Problem
from koepon.payment.checkout import caps
from koepon.payment.checkout import repository as checkouts_repository
from koepon.payment.checkout.models import Checkout
from koepon.payment.checkout.service import Checkouts
from koepon.payment.checkout.states import IN_HISTORY, CheckoutStatus
from koepon.payment.context import PaymentContext
from koepon.payment.providers.base import ProviderRejected, ProviderUnavailable
from koepon.payment.receipts.reconciliation import Finding, Ours, Theirs, reconcile
from koepon.payment.receipts.schemas import (
    PaymentDetail,
    PaymentEventRead,
    PaymentPage,
    PaymentRead,
    Receipt,
    ReceiptPage,
)

MAX_LIMIT = 100


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_utc(moment)


def encode_cursor(checkout: Checkout) -> str:
    return encode_keyset(as_utc(checkout.created_at), checkout.id)


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    return decode_keyset(cursor)  # a 422 problem for anything this API did not hand out


def receipt(checkout: Checkout) -> Receipt:
    return Receipt(
        id=checkout.id,
        status=checkout.status,
        pack_name=checkout.pack_name,
        price_jpy=checkout.price_jpy,
        tax_jpy=checkout.tax_jpy,
        price_label=yen_label(checkout.price_jpy),
        paid_medals=checkout.paid_medals,
        bonus_medals=checkout.bonus_medals,
        provider=checkout.provider,
        method=checkout.method,
        created_at=_aware(checkout.created_at),
        paid_at=_aware(checkout.paid_at),
    )


def payment(checkout: Checkout) -> PaymentRead:
    return PaymentRead(
        **receipt(checkout).model_dump(),
        user_id=checkout.user_id,
        pack_id=checkout.pack_id,
        provider_session_id=checkout.provider_session_id,
        provider_payment_id=checkout.provider_payment_id,
        failure_reason=checkout.failure_reason,
        refund_ground=checkout.refund_ground,
        credited_at=_aware(checkout.credited_at),
        clawed_back_at=_aware(checkout.clawed_back_at),
        updated_at=_aware(checkout.updated_at),
    )


class Receipts:
    """Purchase history, the operators' payment view, refunds and reconciliation."""

    def __init__(self, ctx: PaymentContext, *, checkouts: Checkouts) -> None:
        self.ctx = ctx
        self.checkouts = checkouts

    async def for_fan(
        self, session: AsyncSession, *, user_id: str, cursor: str | None, limit: int
    ) -> ReceiptPage:
        limit = max(1, min(limit, MAX_LIMIT))
        rows = await checkouts_repository.checkout_page(
            session,
            before=decode_cursor(cursor) if cursor else None,
            limit=limit + 1,
            user_id=user_id,
            statuses=IN_HISTORY,
        )
        now = self.ctx.now()
        return ReceiptPage(
            items=[receipt(row) for row in rows[:limit]],
            next_cursor=encode_cursor(rows[limit - 1]) if len(rows) > limit else None,
            month=caps.month_key(now),
            month_spent_jpy=await self.checkouts.month_spent_jpy(session, user_id=user_id, now=now),
        )

    async def payments(
        self,
        session: AsyncSession,
        *,
        cursor: str | None,
        limit: int,
        status: CheckoutStatus | None = None,
        provider: str | None = None,
        user_id: str | None = None,
    ) -> PaymentPage:
        limit = max(1, min(limit, MAX_LIMIT))
        rows = await checkouts_repository.checkout_page(
            session,
            before=decode_cursor(cursor) if cursor else None,
            limit=limit + 1,
            user_id=user_id or None,
            statuses=(status,) if status else None,
            provider=provider or None,
        )
        return PaymentPage(
            items=[payment(row) for row in rows[:limit]],
            next_cursor=encode_cursor(rows[limit - 1]) if len(rows) > limit else None,
        )

    async def payment_detail(self, session: AsyncSession, *, checkout_id: str) -> PaymentDetail:
        checkout = await checkouts_repository.checkout_by_id(session, checkout_id)
        if checkout is None:
            raise Problem(404, "payment_not_found", "No payment with this id")
        events = await checkouts_repository.checkout_events(session, checkout_id)
        return PaymentDetail(
            **payment(checkout).model_dump(),
            events=[
                PaymentEventRead(
                    provider_event_id=e.provider_event_id,
                    event_type=e.event_type,
                    status_before=e.status_before,
                    status_after=e.status_after,
                    note=e.note,
                    received_at=_aware(e.received_at),
                )
                for e in events
            ],
        )

    async def refund(self, *, checkout_id: str, legal_ground: str, actor: str) -> PaymentDetail:
        """Ask the provider to refund a paid checkout (COMPLIANCE M5: operators only, with a
        recorded legal ground). The medals are clawed back when the provider's refund webhook
        arrives, like any refund, so nothing is clawed back for a refund that did not happen."""
        async with self.ctx.db.transaction() as session:
            checkout = await checkouts_repository.checkout_by_id(
                session, checkout_id, for_update=True
            )
            if checkout is None:
                raise Problem(404, "payment_not_found", "No payment with this id")
            if checkout.status != CheckoutStatus.SUCCEEDED or not checkout.provider_payment_id:
                raise Problem(
                    409,
                    "payment_not_refundable",
                    f"Only a succeeded payment can be refunded (this one is {checkout.status})",
                )
            checkout.refund_ground = f"{legal_ground} (by {actor})"[:500]
            checkout.updated_at = self.ctx.now()
            provider_name, payment_id = checkout.provider, checkout.provider_payment_id
            amount = checkout.price_jpy
        provider = self.checkouts.provider(provider_name)
        try:
            await provider.refund(
                payment_id=payment_id,
                amount_jpy=amount,
                idempotency_key=f"koepon-refund-{checkout_id}",
            )
        except ProviderUnavailable as exc:
            raise Problem(
                503,
                "provider_unavailable",
                "The provider is not answering; the refund was not made, try again",
                headers={"Retry-After": str(exc.retry_after)},
            ) from exc
        except ProviderRejected as exc:
            raise Problem(502, "provider_rejected", f"The provider refused: {exc.reason}") from exc
        async with self.ctx.db.sessionmaker() as session:
            return await self.payment_detail(session, checkout_id=checkout_id)

    async def reconcile(self, *, day: date, provider_name: str) -> list[Finding]:
        """Differences between our checkouts and the provider's payments for one JST day."""
        provider = self.checkouts.provider(provider_name)
        start, end = caps.day_bounds(day)
        async with self.ctx.db.sessionmaker() as session:
            rows = await checkouts_repository.checkouts_created(
                session, provider=provider_name, start=start, end=end
            )
            ours = [
                Ours(row.id, row.provider_session_id, CheckoutStatus(row.status), row.price_jpy)
                for row in rows
            ]
        theirs = [
            Theirs(p.reference, p.checkout_id, p.status, p.amount_jpy)
            for p in await provider.list_payments(day)
        ]
        return reconcile(ours, theirs)
