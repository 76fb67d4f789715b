"""Payments refused at credit time: the spending limits checked again when money arrives
(COMPLIANCE A1–A3), the refusal recorded and told to the fan, and the refund owed sent to the
provider (once it accepts, recorded; the recovery job retries until then).

Called by ``settlement.py`` under the fan's purchase lock, so the check sees every other
checkout of the month as it stands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.auth import AccountNotFound
from koepon.kernel.errors import Unavailable
from koepon.payment.checkout import caps, repository
from koepon.payment.checkout.events import PurchaseRefused
from koepon.payment.checkout.models import Checkout, CheckoutEvent
from koepon.payment.checkout.states import CheckoutStatus
from koepon.payment.context import PaymentContext
from koepon.payment.providers.base import ProviderRejected, ProviderUnavailable
from koepon.payment.providers.breaker import GuardedProvider

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


class LimitsUnavailable(Unavailable):
    """The auth service cannot tell the fan's limits: nothing is credited until it can."""

    code = "auth_unavailable"


class Refusals:
    """Refusing money at credit time and sending its refund."""

    def __init__(
        self, ctx: PaymentContext, *, providers: dict[str, GuardedProvider], age_caps: caps.AgeCaps
    ) -> None:
        self.ctx = ctx
        self.providers = providers
        self.age_caps = age_caps

    async def check(
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
            caps.purchaser(profile),
            price_jpy=checkout.price_jpy,
            month_spent_jpy=spent,
            now=now,
            caps=self.age_caps,
        )
        if isinstance(decision, caps.Refused):
            return CreditRefusal(f"{decision.code}:{decision.rule}", decision.rule, decision.detail)
        return None

    async def refuse(
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


def is_refund_owed(checkout: Checkout) -> bool:
    """Money that arrived was refused at credit time and must go back to the fan."""
    return (
        checkout.status == CheckoutStatus.REFUNDED
        and checkout.credited_at is None
        and (checkout.refund_ground or "").startswith("COMPLIANCE ")
    )
