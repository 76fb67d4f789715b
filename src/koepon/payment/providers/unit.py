"""Builds the enabled payment providers, each behind its timeout and circuit breaker."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from koepon.kernel.db import Database
from koepon.kernel.settings import Settings
from koepon.payment.providers.base import PROVIDERS, PaymentProvider
from koepon.payment.providers.breaker import GuardedProvider
from koepon.payment.providers.komoju import KomojuProvider
from koepon.payment.providers.sandbox import SandboxProvider, load_sandbox_secret
from koepon.payment.providers.sandbox_webhooks import Backoff
from koepon.payment.providers.stripe import StripeProvider
from koepon.payment.settings import PaymentSettings

Hook = Callable[[], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Providers:
    """The enabled providers by name; the sandbox (when enabled) for its hosted page."""

    guarded: dict[str, GuardedProvider]
    sandbox: SandboxProvider | None
    on_shutdown: list[Hook] = field(default_factory=list)


def _secret(value: SecretStr | None, name: str, provider: str) -> str:
    if value is None:
        raise RuntimeError(f"KOEPON_{name.upper()} is required when {provider} is enabled")
    return value.get_secret_value()


def build(
    settings: Settings, own: PaymentSettings, db: Database, clock: Callable[[], Any]
) -> Providers:
    """The providers ``own`` (payment's settings) enables; ``settings`` are the platform's."""
    unknown = set(own.payment_providers) - set(PROVIDERS)
    if unknown:
        raise RuntimeError(f"Unknown payment providers: {', '.join(sorted(unknown))}")
    if settings.environment == "production" and "sandbox" in own.payment_providers:
        # Its hosted page lets anyone mark a payment as paid: medals for nothing.
        raise RuntimeError(
            "The sandbox provider never runs in production: set KOEPON_PAYMENT_PROVIDERS"
        )
    guarded: dict[str, GuardedProvider] = {}
    sandbox: SandboxProvider | None = None
    on_shutdown: list[Hook] = []
    for name in own.payment_providers:
        inner: PaymentProvider
        if name == "sandbox":
            sandbox = SandboxProvider(
                db=db,
                secret=load_sandbox_secret(settings, own),
                public_url=settings.public_url,
                tolerance_seconds=own.webhook_tolerance_seconds,
                clock=clock,
                backoff=Backoff.from_settings(own),
            )
            inner = sandbox
        elif name == "stripe":
            stripe = StripeProvider(
                secret_key=_secret(own.stripe_secret_key, "stripe_secret_key", name),
                webhook_secret=_secret(own.stripe_webhook_secret, "stripe_webhook_secret", name),
                tolerance_seconds=own.webhook_tolerance_seconds,
            )
            on_shutdown.append(stripe._http.aclose)
            inner = stripe
        else:
            komoju = KomojuProvider(
                secret_key=_secret(own.komoju_secret_key, "komoju_secret_key", name),
                webhook_secret=_secret(own.komoju_webhook_secret, "komoju_webhook_secret", name),
                api_base=own.komoju_api_base,
            )
            on_shutdown.append(komoju.http.aclose)
            inner = komoju
        guarded[name] = GuardedProvider(
            inner,
            timeout_seconds=own.provider_timeout_seconds,
            failures=own.provider_breaker_failures,
            reset_seconds=own.provider_breaker_reset_seconds,
        )
    return Providers(guarded, sandbox, on_shutdown)
