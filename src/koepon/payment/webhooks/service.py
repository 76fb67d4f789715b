"""Receiving a provider webhook: verify, deduplicate by event id, apply to the checkout."""

from __future__ import annotations

from collections.abc import Mapping

import structlog

from koepon.kernel.problems import Problem
from koepon.payment.checkout.service import Checkouts
from koepon.payment.context import PaymentContext
from koepon.payment.providers.base import WebhookRejected
from koepon.payment.providers.breaker import GuardedProvider

log = structlog.get_logger(__name__)


class Webhooks:
    """Turns verified provider events into checkout changes, each event id at most once."""

    def __init__(
        self, ctx: PaymentContext, *, providers: dict[str, GuardedProvider], checkouts: Checkouts
    ) -> None:
        self.ctx = ctx
        self.providers = providers
        self.checkouts = checkouts

    async def receive(
        self, provider_name: str, *, body: bytes, headers: Mapping[str, str]
    ) -> dict[str, object]:
        provider = self.providers.get(provider_name)
        if provider is None:
            raise Problem(404, "provider_not_enabled", f"No webhooks for {provider_name!r} here")
        try:
            event = provider.parse_event(body, headers, now=self.ctx.now())
        except WebhookRejected as exc:
            log.warning("payment.webhook.rejected", provider=provider_name, code=exc.code)
            raise Problem(400, exc.code, exc.detail) from exc
        # The same path as the recovery job: the inbox claim of the event id, the checkout change
        # and the medals in one transaction; a concurrent duplicate waits on the claim's unique
        # key, then finds it taken.
        result = await self.checkouts.apply_provider_event(provider_name, event)
        log.info(
            "payment.webhook.applied",
            provider=provider_name,
            event_type=event.raw_type,
            **result.body(),
        )
        return {"received": True, **result.body()}
