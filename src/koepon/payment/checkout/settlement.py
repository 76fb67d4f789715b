"""Applying the providers' word to checkouts: credit once (after checking the spending limits
again, COMPLIANCE A1–A3), refund what would break a limit, claw back once, expire abandoned pages.

Everything here runs under the fan's purchase lock taken before the checkout's row, whatever
brought the word (a webhook, the recovery job, a repair): so the cap holds in any order of
pages, webhooks and sweepers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.auth import AccountNotFound
from koepon.kernel.errors import Unavailable
from koepon.payment.checkout import caps, repository
from koepon.payment.checkout.events import PurchaseRefused
from koepon.payment.checkout.models import Checkout, CheckoutEvent
from koepon.payment.checkout.states import Status, Transition, transition
from koepon.payment.context import PaymentContext
from koepon.payment.providers.base import ProviderEvent, ProviderRejected, ProviderUnavailable
from koepon.payment.providers.breaker import GuardedProvider
from koepon.payment.wallet.service import WalletService

log = structlog.get_logger(__name__)
# The checkout event recording that a refused payment's refund was accepted by the provider.
REFUND_SENT_EVENT = "koepon:refund-sent:{}"


def refund_sent_event_id(checkout_id: str) -> str:
    return REFUND_SENT_EVENT.format(checkout_id)


@dataclass(frozen=True)
class CreditRefusal:
    """Why money that arrived is refunded instead of credited (the legal ground, recorded)."""

    reason: str  # stable code shown to the fan, e.g. "spending_cap_exceeded:A2"
    rule: str
    detail: str

    @property
    def ground(self) -> str:
        return f"COMPLIANCE {self.rule}: {self.detail}"[:500]


def transfer_ids(checkout_id: str) -> dict[str, str]:
    """Ledger transfer ids of a checkout's medal movements: derived from the checkout, so a
    duplicate delivery can never move medals twice (the ledger refuses a transfer id twice)."""
    return {
        "paid": f"checkout:{checkout_id}:paid",
        "bonus": f"checkout:{checkout_id}:bonus",
        "claw_back": f"checkout:{checkout_id}:claw-back",
        "claw_back_bonus": f"checkout:{checkout_id}:claw-back-bonus",
    }


class LimitsUnavailable(Unavailable):
    """The auth service cannot tell the fan's limits: nothing is credited until it can."""

    code = "auth_unavailable"


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

    async def _credit_refusal(
        self, session: AsyncSession, checkout: Checkout, now: datetime
    ) -> CreditRefusal | None:
        """A1–A3 again, at the moment money would be credited (the caller holds the fan's
        purchase lock): the fan may have lowered a cap, started a cooling-off period, or paid a
        checkout whose room under the cap was released when it failed or expired."""
        try:
            profile = await self.ctx.auth.spending_profile(checkout.user_id)
        except AccountNotFound:
            return CreditRefusal(
                "account_not_found", "M5", "the account was closed before the payment arrived"
            )
        except Exception as exc:
            # Unknown limits: credit nothing now; the provider (or the recovery job) retries.
            log.warning("payment.spending_profile_unavailable", error=repr(exc))
            raise LimitsUnavailable(
                "Spending limits cannot be checked right now; retry later"
            ) from exc
        spent = await repository.month_spent_jpy(
            session,
            user_id=checkout.user_id,
            month=checkout.purchase_month,
            now=now,
            excluding=checkout.id,
        )
        decision = caps.check_purchase(
            caps.Purchaser(
                birthdate=profile.birthdate,
                self_cap_jpy=profile.monthly_purchase_cap_jpy,
                cooling_off_until=profile.cooling_off_until,
            ),
            price_jpy=checkout.price_jpy,
            month_spent_jpy=spent,
            now=now,
            caps=self.age_caps,
        )
        if isinstance(decision, caps.Refused):
            return CreditRefusal(f"{decision.code}:{decision.rule}", decision.rule, decision.detail)
        return None

    async def _refuse_credit(
        self, session: AsyncSession, checkout: Checkout, refusal: CreditRefusal, now: datetime
    ) -> None:
        """The money goes back: the checkout is final (``refunded``, never credited), its reason
        is shown to the fan, and the fan is told through an event."""
        checkout.failure_reason = refusal.reason[:200]
        checkout.refund_ground = refusal.ground
        await self.ctx.outbox.add(
            session,
            PurchaseRefused(
                user_id=checkout.user_id,
                checkout_id=checkout.id,
                price_jpy=checkout.price_jpy,
                reason=refusal.reason,
                rule=refusal.rule,
                detail=refusal.detail,
                refused_at=now,
            ),
        )
        log.warning(
            "payment.credit_refused",
            checkout_id=checkout.id,
            reason=refusal.reason,
            price_jpy=checkout.price_jpy,
        )

    async def apply_provider_event(
        self, provider_name: str, event: ProviderEvent
    ) -> dict[str, Any]:
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
                return {"duplicate": True, "event_id": event.event_id}
            result = await self.apply_event(session, provider=provider_name, event=event)
        if result.pop("refund_owed", False):
            result["refund_sent"] = await self.send_refund_owed(result["checkout_id"])
        return {"duplicate": False, "event_id": event.event_id, **result}

    async def send_refund_owed(self, checkout_id: str) -> bool:
        """Ask the provider to refund a payment that was refused at credit time; recorded once
        the provider accepts (it is idempotent, so asking again after a crash is harmless).
        False: not sent now (the recovery job retries)."""
        async with self.ctx.db.sessionmaker() as session:
            checkout = await session.get(Checkout, checkout_id)
            sent = await session.scalar(
                select(CheckoutEvent.seq).where(
                    CheckoutEvent.checkout_id == checkout_id,
                    CheckoutEvent.provider_event_id == refund_sent_event_id(checkout_id),
                )
            )
        if checkout is None or sent is not None or not is_refund_owed(checkout):
            return False
        provider = self.providers.get(checkout.provider)
        if provider is None:
            return False
        try:
            payment_id = checkout.provider_payment_id
            if payment_id is None and checkout.provider_session_id:
                payment_id = (await provider.fetch_payment(checkout.provider_session_id)).payment_id
            if payment_id is None:
                raise ProviderRejected(checkout.provider, "no payment id to refund")
            await provider.refund(
                payment_id=payment_id,
                amount_jpy=checkout.price_jpy,
                idempotency_key=f"koepon-refused-refund-{checkout.id}",
            )
        except (ProviderUnavailable, ProviderRejected) as exc:
            log.warning("payment.refund_owed_not_sent", checkout_id=checkout_id, error=repr(exc))
            return False
        async with self.ctx.db.transaction() as session:
            session.add(
                CheckoutEvent(
                    checkout_id=checkout_id,
                    provider=checkout.provider,
                    provider_event_id=refund_sent_event_id(checkout_id),
                    event_type="refund.requested",
                    status_before=checkout.status,
                    status_after=checkout.status,
                    note=(checkout.refund_ground or "")[:500],
                    received_at=self.ctx.now(),
                )
            )
        return True

    async def apply_event(
        self, session: AsyncSession, *, provider: str, event: ProviderEvent
    ) -> dict[str, Any]:
        """Apply one verified, first-seen provider event to its checkout (caller's transaction,
        which also holds the inbox claim of the event id)."""
        checkout = await self._find(session, provider, event)
        if checkout is None:
            log.warning(
                "payment.webhook.unknown_checkout", provider=provider, event_id=event.event_id
            )
            return {"applied": False, "reason": "unknown_checkout"}
        before: Status = checkout.status  # type: ignore[assignment]
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
            refusal = await self._credit_refusal(session, checkout, now) if move.credit else None
            if refusal is not None:
                await self._refuse_credit(session, checkout, refusal, now)
                move = Transition(status="refunded")
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
            if move.status == "failed" and before != "failed":
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
        return {
            "applied": applied,
            "checkout_id": checkout.id,
            "status": checkout.status,
            "refund_owed": refund_owed,
        }

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
                .where(Checkout.status == "open", Checkout.expires_at <= now)
                .order_by(Checkout.expires_at)
                .limit(limit)
            )
            if self.ctx.db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            abandoned = list((await session.scalars(query)).all())
            for checkout in abandoned:
                move = transition(
                    "open",
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
                        status_before="open",
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


def is_refund_owed(checkout: Checkout) -> bool:
    """Money that arrived was refused at credit time and must go back to the fan."""
    return (
        checkout.status == "refunded"
        and checkout.credited_at is None
        and (checkout.refund_ground or "").startswith("COMPLIANCE ")
    )
