"""Checkout use cases: admit a purchase (caps, reservation), open the provider's hosted page,
and apply provider events to checkouts (credit once, claw back once).

Creating a checkout calls out to a provider, so it is not one transaction: (1) the checkout row
is admitted and the idempotency key checkpointed together; (2) the provider session is created
with no transaction open, under a provider idempotency key derived from ours; (3) the session is
stored and the response saved together. A crash between steps resumes from the checkpoint.

Provider events (credit after re-checking the limits, refund, claw back) are applied by
``settlement.py``; ``Checkouts`` hands them there.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.auth import AccountNotFound, SpendingProfile
from koepon.kernel.clock import as_utc
from koepon.kernel.idempotency import Claim, IdempotencyKeys, StoredResponse
from koepon.kernel.problems import Problem
from koepon.payment.checkout import caps, repository
from koepon.payment.checkout.cancellation import Cancellation
from koepon.payment.checkout.disclosures import confirmation, disclosures
from koepon.payment.checkout.models import Checkout
from koepon.payment.checkout.profiles import DisplayProfiles
from koepon.payment.checkout.schemas import CheckoutCreate, CheckoutRead, EventApplied
from koepon.payment.checkout.settlement import Settlement
from koepon.payment.checkout.states import CheckoutStatus
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
        own = ctx.payment_settings
        self.age_caps = caps.AgeCaps(
            under_16_jpy=own.monthly_cap_under_16_jpy,
            age_16_17_jpy=own.monthly_cap_16_17_jpy,
        )
        self.settlement = Settlement(
            ctx, providers=providers, wallets=wallets, age_caps=self.age_caps
        )
        self.cancellation = Cancellation(ctx, providers=providers, settlement=self.settlement)
        # For the wallet page's cap only; admitting a checkout asks auth afresh (profiles.py).
        self.display_profiles = DisplayProfiles(self.spending_profile)

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
            expires_at=as_utc(checkout.expires_at),
            created_at=as_utc(checkout.created_at),
            confirmation=checkout.confirmation,
            disclosures=disclosures(
                self.ctx.settings,
                self.ctx.payment_settings,
                purchasable=await self._purchasable(session),
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
        return await repository.month_spent_jpy(
            session,
            user_id=user_id,
            month=month or caps.month_key(now),
            now=now,
            excluding=excluding,
        )

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
        """This JST month's purchases and the cap in force (A2/A3, A4) for the wallet view: the
        spend exact from the checkouts now, the cap from a profile at most seconds old."""
        now = self.ctx.now()
        profile = await self.display_profiles.get(user_id)
        purchaser = caps.purchaser(profile)
        return {
            "month": caps.month_key(now),
            "month_spent_jpy": await self.month_spent_jpy(session, user_id=user_id, now=now),
            "month_cap_jpy": caps.month_cap_jpy(purchaser, now, self.age_caps),
        }

    # --- creating ---------------------------------------------------------------------------

    async def _admit(
        self, *, user_id: str, body: CheckoutCreate, claim: Claim, profile: SpendingProfile
    ) -> str:
        """Step 1: check the caps and record the checkout (reserving its price) atomically."""
        now = self.ctx.now()
        async with self.ctx.db.transaction() as session:
            pack = await self.packs.get(session, body.pack_id, for_sale=True)
            await repository.lock_purchases(session, user_id, now)
            spent = await self.month_spent_jpy(session, user_id=user_id, now=now)
            decision = caps.check_purchase(
                caps.purchaser(profile),
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
                    status=CheckoutStatus.CREATING,
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
                    expires_at=now
                    + timedelta(minutes=self.ctx.payment_settings.checkout_expiry_minutes),
                )
            )
            await session.flush()
            await self.keys.checkpoint(session, claim, RECORDED, {"checkout_id": checkout_id})
        return checkout_id

    async def _give_up(self, checkout_id: str, reason: str) -> None:
        """The provider could not open the page: the checkout fails and frees its reservation."""
        async with self.ctx.db.transaction() as session:
            checkout = await session.get(Checkout, checkout_id, with_for_update=True)
            if checkout is not None and checkout.status == CheckoutStatus.CREATING:
                checkout.status = CheckoutStatus.FAILED
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
        if checkout.status == CheckoutStatus.CREATING:
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
                        expires_at=as_utc(checkout.expires_at),
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
            if checkout.status == CheckoutStatus.CREATING:
                # A webhook may already have moved it further.
                checkout.status = CheckoutStatus.OPEN
            checkout.updated_at = self.ctx.now()
            await session.flush()
            read = await self.read(session, checkout)
            stored = await self.keys.complete(
                session, claim, status=201, body=read.model_dump(mode="json")
            )
        if read.status == CheckoutStatus.CANCELLED and session_id:
            # The fan cancelled while the page was being opened: end the page too.
            await self.cancellation.end_page(provider, session_id)
        return stored

    async def cancel(self, *, user_id: str, checkout_id: str) -> CheckoutRead:
        """The fan gives up their own unpaid checkout (``cancellation.py``); idempotent."""
        async with self.ctx.db.sessionmaker() as session:
            checkout = await self.get_own(session, user_id=user_id, checkout_id=checkout_id)
        await self.cancellation.cancel(checkout)
        async with self.ctx.db.sessionmaker() as session:
            return await self.read(
                session, await self.get_own(session, user_id=user_id, checkout_id=checkout_id)
            )

    def _return_url(self, checkout_id: str, outcome: str) -> str:
        base = self.ctx.settings.public_url.rstrip("/")
        return f"{base}/checkouts/{checkout_id}/{outcome}"

    # --- provider events --------------------------------------------------------------------

    async def apply_provider_event(self, provider_name: str, event: ProviderEvent) -> EventApplied:
        """Apply a provider's event once (webhooks, the recovery job): ``settlement.py``."""
        return await self.settlement.apply_provider_event(provider_name, event)

    async def send_refund_owed(self, checkout_id: str) -> bool:
        return await self.settlement.send_refund_owed(checkout_id)

    async def expire_abandoned(self, *, limit: int = 500) -> int:
        return await self.settlement.expire_abandoned(limit=limit)
