"""A fan gives up their own unpaid checkout: the provider's page is ended first (so it can no
longer be paid), then the checkout becomes ``cancelled``, final like failed or expired, and its
room under the monthly cap (COMPLIANCE A2/A3) is free at once.

The provider is called with no transaction open: the sandbox reports the cancel by webhook
into this same service, which must be able to take the fan's purchase lock meanwhile.
"""

from __future__ import annotations

import structlog

from koepon.kernel.errors import Conflict, Unavailable
from koepon.payment.checkout.models import Checkout
from koepon.payment.checkout.settlement import Settlement
from koepon.payment.checkout.states import WAITING_FOR_FAN, CheckoutStatus
from koepon.payment.context import PaymentContext
from koepon.payment.providers.base import ProviderEvent, ProviderRejected, ProviderUnavailable
from koepon.payment.providers.breaker import GuardedProvider

log = structlog.get_logger(__name__)
# Only a page still waiting for the fan can be given up (a konbini slip is paid or expires).
CANCELLABLE = WAITING_FOR_FAN


class CheckoutNotCancellable(Conflict):
    code = "checkout_not_cancellable"


class CancelUnavailable(Unavailable):
    """The provider cannot be reached to end its page: nothing was cancelled, retry."""

    code = "provider_unavailable"


def cancel_event_id(checkout_id: str) -> str:
    """One cancel per checkout: the inbox absorbs a repeated request like a repeated webhook."""
    return f"koepon:cancel:{checkout_id}"


class Cancellation:
    """Cancelling a fan's open checkout at the provider, then here."""

    def __init__(
        self,
        ctx: PaymentContext,
        *,
        providers: dict[str, GuardedProvider],
        settlement: Settlement,
    ) -> None:
        self.ctx = ctx
        self.providers = providers
        self.settlement = settlement

    async def end_page(self, provider: GuardedProvider, reference: str) -> None:
        """Best effort for a page opened after its checkout was cancelled: were it paid anyway,
        the recovery job (which asks about cancelled checkouts for a day) credits or refunds."""
        try:
            await provider.cancel_session(reference)
        except (ProviderUnavailable, ProviderRejected) as exc:
            log.warning("payment.cancel.page_left_open", reference=reference, error=repr(exc))

    async def cancel(self, checkout: Checkout) -> None:
        """Cancel ``checkout`` (the caller checked it is the fan's own); cancelling a cancelled
        checkout is a no-op. Raises CheckoutNotCancellable when it is paid or ended otherwise."""
        if checkout.status == CheckoutStatus.CANCELLED:
            return
        if checkout.status not in CANCELLABLE:
            raise CheckoutNotCancellable(
                f"A {checkout.status} checkout cannot be cancelled", checkout_status=checkout.status
            )
        provider = self.providers.get(checkout.provider)
        if checkout.provider_session_id and provider is not None:
            try:
                await provider.cancel_session(checkout.provider_session_id)
            except ProviderUnavailable as exc:
                raise CancelUnavailable(
                    f"The payment provider {exc.provider} is not answering; nothing was "
                    "cancelled, try again in a moment",
                    retry_after=exc.retry_after,
                    provider=exc.provider,
                ) from exc
            except ProviderRejected as exc:
                raise CheckoutNotCancellable(
                    f"The payment provider did not cancel this checkout: {exc.reason}",
                    checkout_status=checkout.status,
                ) from exc
        result = await self.settlement.apply_provider_event(
            checkout.provider,
            ProviderEvent(
                event_id=cancel_event_id(checkout.id),
                raw_type="checkout.cancelled",
                kind="cancelled",
                checkout_id=checkout.id,
            ),
        )
        if result.status not in (None, CheckoutStatus.CANCELLED):
            # Money arrived first (a webhook between our read and the cancel): it stands.
            raise CheckoutNotCancellable(
                f"A {result.status} checkout cannot be cancelled",
                checkout_status=result.status,
            )
