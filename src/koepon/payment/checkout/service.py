"""Checkout use cases: admit a purchase (caps, reservation), open the provider's hosted page,
and apply provider events to checkouts (credit once, claw back once).

Creating a checkout calls out to a provider, so it is not one transaction: (1) the checkout row
is admitted and the idempotency key checkpointed together; (2) the provider session is created
with no transaction open, under a provider idempotency key derived from ours; (3) the session is
stored and the response saved together. A crash between steps resumes from the checkpoint.

Crediting re-checks the spending limits (COMPLIANCE A1–A3) under the fan's purchase lock, at the
moment the money arrives, whatever order pages, webhooks and sweepers ran in: a payment that
would break a limit is refunded through its provider (with its legal ground), never credited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.auth import AccountNotFound, SpendingProfile
from koepon.kernel.clock import as_utc
from koepon.kernel.idempotency import Claim, IdempotencyKeys, StoredResponse
from koepon.kernel.problems import Problem
from koepon.payment.checkout import caps
from koepon.payment.checkout.disclosures import confirmation, disclosures
from koepon.payment.checkout.events import PurchaseRefused
from koepon.payment.checkout.models import Checkout, CheckoutEvent, PurchaseLock
from koepon.payment.checkout.schemas import CheckoutCreate, CheckoutRead
from koepon.payment.checkout.states import (
    COUNTS_TOWARD_CAP,
    RESERVING_UNTIL_EXPIRY,
    Status,
    Transition,
    transition,
)
from koepon.payment.context import PaymentContext
from koepon.payment.packs.service import MedalPacks
from koepon.payment.providers.base import (
    ProviderEvent,
    ProviderRejected,
    ProviderUnavailable,
    SessionRequest,
    provider_idempotency_key,
)
from koepon.payment.providers.breaker import GuardedProvider
from koepon.payment.wallet.service import WalletService

log = structlog.get_logger(__name__)
RECORDED = "checkout_recorded"
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


def _aware(moment: datetime) -> datetime:
    return as_utc(moment)


def transfer_ids(checkout_id: str) -> dict[str, str]:
    """Ledger transfer ids of a checkout's medal movements: derived from the checkout, so a
    duplicate delivery can never move medals twice (the ledger refuses a transfer id twice)."""
    return {
        "paid": f"checkout:{checkout_id}:paid",
        "bonus": f"checkout:{checkout_id}:bonus",
        "claw_back": f"checkout:{checkout_id}:claw-back",
        "claw_back_bonus": f"checkout:{checkout_id}:claw-back-bonus",
    }


class Checkouts:
    """Medal pack checkouts of the payment service."""

    def __init__(
        self,
        ctx: PaymentContext,
        *,
        packs: MedalPacks,
        providers: dict[str, GuardedProvider],
        keys: IdempotencyKeys,
        wallets: WalletService,
    ) -> None:
        self.ctx = ctx
        self.wallets = wallets
        self.packs = packs
        self.providers = providers
        self.keys = keys
        settings = ctx.settings
        self.age_caps = caps.AgeCaps(
            under_16_jpy=settings.monthly_cap_under_16_jpy,
            age_16_17_jpy=settings.monthly_cap_16_17_jpy,
        )

    # --- reading ----------------------------------------------------------------------------

    def provider(self, name: str) -> GuardedProvider:
        provider = self.providers.get(name)
        if provider is None:
            raise Problem(
                422,
                "provider_not_enabled",
                f"The payment provider {name!r} is not enabled here",
                enabled=sorted(self.providers),
            )
        return provider

    async def _purchasable(self, session: AsyncSession) -> list[dict[str, int]]:
        return [
            {
                "price_jpy": pack.price_jpy,
                "paid_medals": pack.paid_medals,
                "bonus_medals": pack.bonus_medals,
            }
            for pack in await self.packs.list(session)
        ]

    async def read(self, session: AsyncSession, checkout: Checkout) -> CheckoutRead:
        return CheckoutRead(
            id=checkout.id,
            status=checkout.status,
            provider=checkout.provider,
            method=checkout.method,
            pack_id=checkout.pack_id,
            price_jpy=checkout.price_jpy,
            tax_jpy=checkout.tax_jpy,
            paid_medals=checkout.paid_medals,
            bonus_medals=checkout.bonus_medals,
            redirect_url=checkout.redirect_url,
            reason=checkout.failure_reason,
            refund_ground=checkout.refund_ground if checkout.credited_at is None else None,
            expires_at=_aware(checkout.expires_at),
            created_at=_aware(checkout.created_at),
            confirmation=checkout.confirmation,
            disclosures=disclosures(
                self.ctx.settings, purchasable=await self._purchasable(session)
            ),
        )

    async def find(self, session: AsyncSession, checkout_id: str) -> Checkout | None:
        checkout: Checkout | None = await session.get(Checkout, checkout_id)
        return checkout

    async def get_own(self, session: AsyncSession, *, user_id: str, checkout_id: str) -> Checkout:
        checkout = await session.get(Checkout, checkout_id)
        if checkout is None or checkout.user_id != user_id:
            raise Problem(404, "checkout_not_found", "No checkout of yours with this id")
        return checkout

    async def month_spent_jpy(
        self,
        session: AsyncSession,
        *,
        user_id: str,
        now: datetime,
        month: str | None = None,
        excluding: str | None = None,
    ) -> int:
        """Tax-included yen of a JST month's purchases (this month unless ``month``) that are
        paid or reserving room at ``now``, leaving out the checkout ``excluding``."""
        settled = [s for s in COUNTS_TOWARD_CAP if s not in RESERVING_UNTIL_EXPIRY]
        query = select(func.coalesce(func.sum(Checkout.price_jpy), 0)).where(
            Checkout.user_id == user_id,
            Checkout.purchase_month == (month or caps.month_key(now)),
            or_(
                Checkout.status.in_(settled),
                Checkout.status.in_(list(RESERVING_UNTIL_EXPIRY)) & (Checkout.expires_at > now),
            ),
        )
        if excluding is not None:
            query = query.where(Checkout.id != excluding)
        total = await session.scalar(query)
        return int(total or 0)

    async def spending_profile(self, user_id: str) -> SpendingProfile:
        try:
            profile: SpendingProfile = await self.ctx.auth.spending_profile(user_id)
        except AccountNotFound as exc:
            raise Problem(404, "account_not_found", "Your account no longer exists") from exc
        except Problem:
            raise
        except Exception as exc:
            log.warning("payment.spending_profile_unavailable", error=repr(exc))
            raise Problem(
                503,
                "auth_unavailable",
                "Your spending limits cannot be checked right now; nothing was charged",
                headers={"Retry-After": "5"},
            ) from exc
        return profile

    async def month_summary(self, session: AsyncSession, *, user_id: str) -> dict[str, Any]:
        """This JST month's purchases and the cap in force (A2/A3, A4) for the wallet view."""
        now = self.ctx.now()
        profile = await self.spending_profile(user_id)
        purchaser = caps.Purchaser(
            profile.birthdate, profile.monthly_purchase_cap_jpy, profile.cooling_off_until
        )
        return {
            "month": caps.month_key(now),
            "month_spent_jpy": await self.month_spent_jpy(session, user_id=user_id, now=now),
            "month_cap_jpy": caps.month_cap_jpy(purchaser, now, self.age_caps),
        }

    # --- creating ---------------------------------------------------------------------------

    async def _lock_purchases(self, session: AsyncSession, user_id: str, now: datetime) -> None:
        """Hold this fan's purchase lock until the transaction ends (a row lock on PostgreSQL;
        SQLite serialises writers already), so cap checks of one fan run one at a time."""
        dialect = session.get_bind().dialect.name
        insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert_(PurchaseLock).values(user_id=user_id, updated_at=now)
        await session.execute(
            stmt.on_conflict_do_update(index_elements=["user_id"], set_={"updated_at": now})
        )

    async def _admit(
        self, *, user_id: str, body: CheckoutCreate, claim: Claim, profile: SpendingProfile
    ) -> str:
        """Step 1: check the caps and record the checkout (reserving its price) atomically."""
        now = self.ctx.now()
        async with self.ctx.db.transaction() as session:
            pack = await self.packs.get(session, body.pack_id, for_sale=True)
            await self._lock_purchases(session, user_id, now)
            spent = await self.month_spent_jpy(session, user_id=user_id, now=now)
            decision = caps.check_purchase(
                caps.Purchaser(
                    birthdate=profile.birthdate,
                    self_cap_jpy=profile.monthly_purchase_cap_jpy,
                    cooling_off_until=profile.cooling_off_until,
                ),
                price_jpy=pack.price_jpy,
                month_spent_jpy=spent,
                now=now,
                caps=self.age_caps,
            )
            if isinstance(decision, caps.Refused):
                extra: dict[str, Any] = {"rule": decision.rule}
                if decision.code == "birthdate_required":
                    extra["notice"] = caps.MINORS_NOTICE
                if decision.month_cap_jpy is not None:
                    extra["month_cap_jpy"] = decision.month_cap_jpy
                    extra["month_spent_jpy"] = decision.month_spent_jpy
                    extra["price_jpy"] = pack.price_jpy
                if decision.until is not None:
                    extra["until"] = decision.until.isoformat()
                raise Problem(403, decision.code, decision.detail, **extra)
            checkout_id = str(uuid.uuid4())
            session.add(
                Checkout(
                    id=checkout_id,
                    user_id=user_id,
                    pack_id=pack.id,
                    pack_name=pack.name,
                    provider=body.provider,
                    method=body.method,
                    status="creating",
                    price_jpy=pack.price_jpy,
                    tax_jpy=pack.tax_jpy,
                    paid_medals=pack.paid_medals,
                    bonus_medals=pack.bonus_medals,
                    purchase_month=caps.month_key(now),
                    confirmation=confirmation(
                        pack_name=pack.name,
                        price_jpy=pack.price_jpy,
                        tax_jpy=pack.tax_jpy,
                        paid_medals=pack.paid_medals,
                        bonus_medals=pack.bonus_medals,
                        method=body.method,
                        provider=body.provider,
                    ),
                    created_at=now,
                    updated_at=now,
                    expires_at=now + timedelta(minutes=self.ctx.settings.checkout_expiry_minutes),
                )
            )
            await session.flush()
            await self.keys.checkpoint(session, claim, RECORDED, {"checkout_id": checkout_id})
        return checkout_id

    async def _give_up(self, checkout_id: str, reason: str) -> None:
        """The provider could not open the page: the checkout fails and frees its reservation."""
        async with self.ctx.db.transaction() as session:
            checkout = await session.get(Checkout, checkout_id, with_for_update=True)
            if checkout is not None and checkout.status == "creating":
                checkout.status = "failed"
                checkout.failure_reason = reason
                checkout.updated_at = self.ctx.now()

    async def create(self, *, user_id: str, body: CheckoutCreate, claim: Claim) -> StoredResponse:
        """Run (or resume) one checkout request holding ``claim``; returns the response to send."""
        provider = self.provider(body.provider)
        if not provider.supports(body.method):
            raise Problem(
                422,
                "payment_method_not_supported",
                f"{body.provider} does not offer the method {body.method!r} here",
            )
        if claim.recovery_point == RECORDED and claim.recovery_data:
            checkout_id = str(claim.recovery_data["checkout_id"])
        else:
            profile = await self.spending_profile(user_id)
            checkout_id = await self._admit(
                user_id=user_id, body=body, claim=claim, profile=profile
            )

        async with self.ctx.db.sessionmaker() as session:
            checkout = await session.get(Checkout, checkout_id)
        assert checkout is not None
        session_id, redirect_url = checkout.provider_session_id, checkout.redirect_url
        if checkout.status == "creating":
            try:
                opened = await provider.create_session(
                    SessionRequest(
                        checkout_id=checkout.id,
                        amount_jpy=checkout.price_jpy,
                        description=checkout.confirmation["item"],
                        method=checkout.method,  # type: ignore[arg-type]
                        idempotency_key=provider_idempotency_key(
                            claim.scope, claim.key, checkout.id, "create_session"
                        ),
                        success_url=self._return_url(checkout.id, "success"),
                        cancel_url=self._return_url(checkout.id, "cancel"),
                        expires_at=_aware(checkout.expires_at),
                        confirmation=checkout.confirmation,
                    )
                )
            except ProviderUnavailable as exc:
                await self._give_up(checkout.id, "provider_unavailable")
                raise Problem(
                    503,
                    "provider_unavailable",
                    f"The payment provider {exc.provider} is not answering; nothing was charged, "
                    "try again in a moment",
                    headers={"Retry-After": str(exc.retry_after)},
                    provider=exc.provider,
                ) from exc
            except ProviderRejected as exc:
                await self._give_up(checkout.id, "provider_rejected")
                raise Problem(
                    502,
                    "provider_rejected",
                    f"The payment provider refused to open a payment page: {exc.reason}",
                    provider=exc.provider,
                ) from exc
            session_id, redirect_url = opened.session_id, opened.redirect_url

        async with self.ctx.db.transaction() as session:
            checkout = await session.get(Checkout, checkout_id, with_for_update=True)
            assert checkout is not None
            if checkout.provider_session_id is None:
                checkout.provider_session_id = session_id
                checkout.redirect_url = redirect_url
            if checkout.status == "creating":
                checkout.status = "open"  # a webhook may already have moved it further
            checkout.updated_at = self.ctx.now()
            await session.flush()
            read = await self.read(session, checkout)
            return await self.keys.complete(
                session, claim, status=201, body=read.model_dump(mode="json")
            )

    def _return_url(self, checkout_id: str, outcome: str) -> str:
        base = self.ctx.settings.public_url.rstrip("/")
        return f"{base}/checkouts/{checkout_id}/{outcome}"

    # --- provider events --------------------------------------------------------------------

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
        await self._lock_purchases(session, found.user_id, self.ctx.now())
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
            raise Problem(
                503,
                "auth_unavailable",
                "Spending limits cannot be checked right now; retry later",
                headers={"Retry-After": "5"},
            ) from exc
        spent = await self.month_spent_jpy(
            session,
            user_id=checkout.user_id,
            now=now,
            month=checkout.purchase_month,
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
