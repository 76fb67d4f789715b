"""Recovery of lost webhooks: ask the provider about checkouts left unsettled and apply its
answer through the webhook path (same state machine, same idempotent credit), exactly once.

A provider's webhook can be lost (the process died just after the provider recorded the
payment, the network failed, the provider gave up retrying). Every few minutes this job asks
the provider about each checkout that is still unsettled a while after its last change, and
resends refunds owed for payments refused at credit time (COMPLIANCE A1–A3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import structlog

from koepon.kernel import jobs
from koepon.payment.checkout import repository
from koepon.payment.checkout.refusals import REFUND_SENT_EVENT, LimitsUnavailable
from koepon.payment.checkout.service import Checkouts
from koepon.payment.checkout.states import EventKind
from koepon.payment.providers.base import (
    PaymentStatus,
    ProviderEvent,
    ProviderPayment,
    ProviderRejected,
    ProviderUnavailable,
)

log = structlog.get_logger(__name__)

# How long a checkout stays quiet before it is asked about, and how often the job runs, are
# settings (payment_recovery_quiet_minutes, payment_recovery_every_seconds).
# Konbini and bank transfers are paid days later; older checkouts are left to reconciliation.
LOOKBACK_DAYS = 14
# A failed or expired checkout is asked about for a day (a late success comes within hours).
ENDED_LOOKBACK_HOURS = 24
BATCH = 200
_EVENTS: dict[PaymentStatus, EventKind | None] = {
    "open": None,  # nothing happened yet
    "pending": "pending",
    "succeeded": "succeeded",
    "failed": "failed",
    "expired": "expired",
    "cancelled": "cancelled",
    "refunded": "refunded",
    "disputed": "dispute_opened",
}


def recovery_event(checkout_id: str, payment: ProviderPayment) -> ProviderEvent | None:
    """The provider's answer as an event. Its id names the checkout and the status, so each
    answer is applied once (the inbox), and the state machine absorbs the webhook's copy."""
    kind = _EVENTS.get(payment.status)
    if kind is None:
        return None
    return ProviderEvent(
        event_id=f"koepon:recovery:{checkout_id}:{payment.status}",
        raw_type=f"recovery.{payment.status}",
        kind=kind,
        checkout_id=checkout_id,
        session_id=payment.reference,
        payment_id=payment.payment_id,
        amount_jpy=payment.amount_jpy,
    )


@dataclass
class RecoveryRun:
    """What one pass did."""

    asked: int = 0
    applied: list[str] = field(default_factory=list)  # checkout ids whose status changed
    refunds_sent: int = 0
    unanswered: int = 0


class PaymentRecovery:
    """The lost-webhook recovery job of one payment service."""

    def __init__(self, checkouts: Checkouts) -> None:
        self.checkouts = checkouts
        self.ctx = checkouts.ctx
        self.quiet_minutes = self.ctx.payment_settings.payment_recovery_quiet_minutes
        self.every_seconds = self.ctx.payment_settings.payment_recovery_every_seconds
        # Where the last pass stopped: each pass asks the next batch, so with more candidates
        # than a batch every checkout still gets its turn (the position wraps at the end).
        self._position: repository.Position | None = None

    async def recover(
        self, checkout_id: str, run: RecoveryRun | None = None, *, reference: str | None = None
    ) -> bool:
        """Ask the provider about one checkout (by its session, or ``reference`` when we never
        stored one) and apply its answer; True if anything changed."""
        run = run if run is not None else RecoveryRun()
        async with self.ctx.db.sessionmaker() as session:
            checkout = await self.checkouts.find(session, checkout_id)
        reference = reference or (checkout.provider_session_id if checkout else None)
        if checkout is None or not reference:
            return False
        provider = self.checkouts.providers.get(checkout.provider)
        if provider is None:
            return False
        run.asked += 1
        try:
            payment = await provider.fetch_payment(reference)
        except (ProviderUnavailable, ProviderRejected) as exc:
            run.unanswered += 1
            log.warning("payment.recovery.unanswered", checkout_id=checkout_id, error=repr(exc))
            return False
        event = recovery_event(checkout.id, payment)
        if event is None:
            return False
        try:
            result = await self.checkouts.apply_provider_event(checkout.provider, event)
        except LimitsUnavailable:
            run.unanswered += 1  # the next pass asks again
            return False
        if result.applied:
            run.applied.append(checkout.id)
            log.warning(
                "payment.recovery.applied",
                checkout_id=checkout.id,
                provider_status=payment.status,
                status=result.status,
            )
            return True
        return False

    async def run_once(self, *, limit: int = BATCH) -> RecoveryRun:
        """One pass: every quiet unsettled checkout, then every refund still owed."""
        run = RecoveryRun()
        now = self.ctx.now()
        async with self.ctx.db.sessionmaker() as session:
            stale = await repository.unsettled_checkouts(
                session,
                quiet_since=now - timedelta(minutes=self.quiet_minutes),
                created_after=now - timedelta(days=LOOKBACK_DAYS),
                ended_after=now - timedelta(hours=ENDED_LOOKBACK_HOURS),
                after=self._position,
                limit=limit,
            )
            last = stale[-1] if len(stale) == limit else None
            self._position = (last.updated_at, last.id) if last is not None else None
            owed = await repository.refunds_owed(
                session, sent_event_prefix=REFUND_SENT_EVENT.format(""), limit=limit
            )
        for checkout in stale:
            await self.recover(checkout.id, run)
        for checkout_id in owed:
            if await self.checkouts.send_refund_owed(checkout_id):
                run.refunds_sent += 1
        return run

    async def repair(self, differences: list[tuple[str, str | None]]) -> RecoveryRun:
        """Repair what reconciliation found, (checkout id, provider reference) each, through the
        same path as a webhook; refunds still owed are sent too."""
        run = RecoveryRun()
        for checkout_id, reference in differences:
            await self.recover(checkout_id, run, reference=reference)
        async with self.ctx.db.sessionmaker() as session:
            owed = await repository.refunds_owed(
                session, sent_event_prefix=REFUND_SENT_EVENT.format(""), limit=BATCH
            )
        for checkout_id in owed:
            if await self.checkouts.send_refund_owed(checkout_id):
                run.refunds_sent += 1
        return run

    async def run_forever(self) -> None:
        """The background job (like the other sweepers)."""
        while True:
            try:
                run = await self.run_once()
                if run.applied or run.refunds_sent:
                    log.warning(
                        "payment.recovery.pass",
                        asked=run.asked,
                        applied=len(run.applied),
                        refunds_sent=run.refunds_sent,
                    )
            except Exception as exc:  # keep the job alive; the next pass retries
                log.error("payment.recovery.failed", error=repr(exc))
            await jobs.pause(self.every_seconds)
