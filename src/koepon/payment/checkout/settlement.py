"""Applying the providers' word to checkouts: credit once (after checking the spending limits
again, COMPLIANCE A1–A3; what would break one is refunded by ``refusals.py``), claw back once,
expire abandoned pages.

Everything here runs under the fan's purchase lock taken before the checkout's row, whatever
brought the word (a webhook, the recovery job, a repair): so the cap holds in any order of
pages, webhooks and sweepers.
"""

from __future__ import annotations

import dataclasses

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.payment.checkout import caps, repository
from koepon.payment.checkout.models import Checkout, CheckoutEvent
from koepon.payment.checkout.refusals import Refusals
from koepon.payment.checkout.schemas import EventApplied
from koepon.payment.checkout.states import CheckoutStatus, Transition, transition
from koepon.payment.context import PaymentContext
from koepon.payment.providers.base import ProviderEvent
from koepon.payment.providers.breaker import GuardedProvider
from koepon.payment.wallet.service import WalletService

log = structlog.get_logger(__name__)


def transfer_ids(checkout_id: str) -> dict[str, str]:
    """Ledger transfer ids of a checkout's medal movements: derived from the checkout, so a
    duplicate delivery can never move medals twice (the ledger refuses a transfer id twice)."""
    return {
        "paid": f"checkout:{checkout_id}:paid",
        "bonus": f"checkout:{checkout_id}:bonus",
        "claw_back": f"checkout:{checkout_id}:claw-back",
        "claw_back_bonus": f"checkout:{checkout_id}:claw-back-bonus",
    }


class Settlement:
    """The provider-event side of checkouts (``Checkouts`` hands its callers here)."""

    def __init__(
        self,
        ctx: PaymentContext,
        *,
        providers: dict[str, GuardedProvider],
        wallets: WalletService,
        age_caps: caps.AgeCaps,
    ) -> None:
        self.ctx = ctx
        self.providers = providers
        self.wallets = wallets
        self.age_caps = age_caps
        self.refusals = Refusals(ctx, providers=providers, age_caps=age_caps)

    async def _find(
        self, session: AsyncSession, provider: str, event: ProviderEvent
    ) -> Checkout | None:
        """The event's checkout, locked after its fan's purchase lock. Always that order (the
        lock, then the row): admission takes the lock alone, so no two paths wait in a cycle."""
        query = select(Checkout.id, Checkout.user_id).where(Checkout.provider == provider)
        if event.checkout_id:
            query = query.where(Checkout.id == event.checkout_id)
        elif event.session_id:
            query = query.where(Checkout.provider_session_id == event.session_id)
        elif event.payment_id:
            query = query.where(Checkout.provider_payment_id == event.payment_id)
        else:
            return None
        found = (await session.execute(query.limit(1))).first()
        if found is None:
            return None
        await repository.lock_purchases(session, found.user_id, self.ctx.now())
        if self.ctx.db.is_postgres:
            return await session.get(
                Checkout, found.id, with_for_update=True, populate_existing=True
            )
        return await session.get(Checkout, found.id, populate_existing=True)

    async def apply_provider_event(self, provider_name: str, event: ProviderEvent) -> EventApplied:
        """The one path from a provider's word (a webhook, or the recovery job's question) to a
        checkout: the event id is claimed in the inbox and applied in one transaction; a refund
        owed for a refused payment is then asked of the provider."""
        async with self.ctx.db.transaction() as session:
            fresh = await self.ctx.inbox.claim(
                session,
                consumer=f"webhook:{provider_name}",
                message_id=event.event_id[:200],
                topic=event.raw_type[:200],
            )
            if not fresh:
                return EventApplied(event_id=event.event_id, duplicate=True)
            result = await self.apply_event(session, provider=provider_name, event=event)
        if result.refund_owed and result.checkout_id is not None:
            sent = await self.refusals.send_refund_owed(result.checkout_id)
            return dataclasses.replace(result, refund_sent=sent)
        return result

    async def send_refund_owed(self, checkout_id: str) -> bool:
        return await self.refusals.send_refund_owed(checkout_id)

    async def apply_event(
        self, session: AsyncSession, *, provider: str, event: ProviderEvent
    ) -> EventApplied:
        """Apply one verified, first-seen provider event to its checkout (caller's transaction,
        which also holds the inbox claim of the event id)."""
        checkout = await self._find(session, provider, event)
        if checkout is None:
            log.warning(
                "payment.webhook.unknown_checkout", provider=provider, event_id=event.event_id
            )
            return EventApplied(event_id=event.event_id, applied=False, reason="unknown_checkout")
        before = CheckoutStatus(checkout.status)
        now = self.ctx.now()
        note: str | None = None
        applied = False
        refund_owed = False
        if event.kind is None:
            note = "event type not used"
        elif (
            event.kind in ("succeeded", "pending")
            and event.amount_jpy is not None
            and event.amount_jpy != checkout.price_jpy
        ):
            # Never credit medals for an amount other than the price the fan confirmed.
            note = f"amount mismatch: provider {event.amount_jpy}, checkout {checkout.price_jpy}"
            log.error("payment.webhook.amount_mismatch", checkout_id=checkout.id, note=note)
        else:
            move = transition(
                before,
                event.kind,
                credited=checkout.credited_at is not None,
                clawed_back=checkout.clawed_back_at is not None,
            )
            if event.payment_id and checkout.provider_payment_id is None:
                checkout.provider_payment_id = event.payment_id
            if event.session_id and checkout.provider_session_id is None:
                checkout.provider_session_id = event.session_id
            refusal = await self.refusals.check(session, checkout, now) if move.credit else None
            if refusal is not None:
                await self.refusals.refuse(session, checkout, refusal, now)
                move = Transition(status=CheckoutStatus.REFUNDED)
                refund_owed = True
                note = f"refunded, not credited: {refusal.ground}"[:500]
            elif move.credit:
                await self._credit(session, checkout, provider)
                checkout.credited_at = now
                checkout.paid_at = now
            if move.claw_back:
                await self._claw_back(session, checkout, provider, reason=event.kind)
                checkout.clawed_back_at = now
            applied = move.changes(before)
            if not applied:
                note = f"{event.kind} changes nothing for a {before} checkout"
            if move.status == CheckoutStatus.FAILED and before != CheckoutStatus.FAILED:
                checkout.failure_reason = event.raw_type[:200]
            checkout.status = move.status
            checkout.updated_at = now
        session.add(
            CheckoutEvent(
                checkout_id=checkout.id,
                provider=provider,
                provider_event_id=event.event_id,
                event_type=event.raw_type[:100],
                status_before=before,
                status_after=checkout.status,
                note=note,
                received_at=now,
            )
        )
        await session.flush()
        return EventApplied(
            event_id=event.event_id,
            applied=applied,
            checkout_id=checkout.id,
            status=CheckoutStatus(checkout.status),
            refund_owed=refund_owed,
        )

    async def expire_abandoned(self, *, limit: int = 500) -> int:
        """Mark hosted pages nobody paid before they expired as ``expired``.

        Their room under the monthly cap was already released at expiry; this makes the history
        say so. Only ``open`` ones: a ``creating`` checkout may still be resumed by its
        idempotency recovery point. A late payment still credits (money received wins over
        expiry in the state machine)."""
        now = self.ctx.now()
        async with self.ctx.db.transaction() as session:
            query = (
                select(Checkout)
                .where(Checkout.status == CheckoutStatus.OPEN, Checkout.expires_at <= now)
                .order_by(Checkout.expires_at)
                .limit(limit)
            )
            if self.ctx.db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            abandoned = list((await session.scalars(query)).all())
            for checkout in abandoned:
                move = transition(
                    CheckoutStatus.OPEN,
                    "expired",
                    credited=checkout.credited_at is not None,
                    clawed_back=checkout.clawed_back_at is not None,
                )
                checkout.status = move.status
                checkout.updated_at = now
                session.add(
                    CheckoutEvent(
                        checkout_id=checkout.id,
                        provider=checkout.provider,
                        provider_event_id=f"koepon:expiry:{checkout.id}",
                        event_type="checkout.expired",
                        status_before=CheckoutStatus.OPEN,
                        status_after=move.status,
                        note="nobody paid before the hosted page expired",
                        received_at=now,
                    )
                )
        return len(abandoned)

    async def _credit(self, session: AsyncSession, checkout: Checkout, provider: str) -> None:
        ids = transfer_ids(checkout.id)
        wallets = self.wallets
        await wallets.issue_lot(
            session,
            user_id=checkout.user_id,
            kind="paid",
            medals=checkout.paid_medals,
            price_jpy=checkout.price_jpy,
            transfer_id=ids["paid"],
            source="purchase",
            reason=f"checkout {checkout.id} via {provider}",
        )
        if checkout.bonus_medals:
            await wallets.issue_lot(
                session,
                user_id=checkout.user_id,
                kind="free",
                medals=checkout.bonus_medals,
                price_jpy=0,
                transfer_id=ids["bonus"],
                source="purchase_bonus",
                reason=f"bonus of checkout {checkout.id}",
            )

    async def _claw_back(
        self, session: AsyncSession, checkout: Checkout, provider: str, *, reason: str
    ) -> None:
        """Take back the pack's medals (paid, then the bonus); what the wallet no longer holds is
        owed and locks the wallet (the wallet service's rule)."""
        ids = transfer_ids(checkout.id)
        why = f"{reason} of checkout {checkout.id} via {provider}"
        await self.wallets.claw_back(
            session,
            user_id=checkout.user_id,
            medals=checkout.paid_medals,
            transfer_id=ids["claw_back"],
            reason=why,
            actor=f"provider:{provider}",
            kind="paid",
            lot_transfer_id=ids["paid"],
        )
        if checkout.bonus_medals:
            await self.wallets.claw_back(
                session,
                user_id=checkout.user_id,
                medals=checkout.bonus_medals,
                transfer_id=ids["claw_back_bonus"],
                reason=why,
                actor=f"provider:{provider}",
                kind="free",
                lot_transfer_id=ids["bonus"],
            )
