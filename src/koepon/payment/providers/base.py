"""The one interface every payment provider adapter implements (Stripe, KOMOJU, the sandbox)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol

ProviderName = Literal["sandbox", "stripe", "komoju"]
Method = Literal["card", "konbini", "paypay", "bank_transfer"]
PROVIDERS: tuple[ProviderName, ...] = ("sandbox", "stripe", "komoju")
# Methods that are paid after the hosted page closes: the checkout stays pending until then.
PAID_LATER: frozenset[Method] = frozenset({"konbini", "bank_transfer"})
# What a provider's event means for a checkout (the providers' vocabulary; the
# checkout state machine in checkout/states.py consumes it).
EventKind = Literal[
    "pending",
    "succeeded",
    "failed",
    "expired",
    "cancelled",
    "refunded",
    "dispute_opened",
    "dispute_closed",
]
PaymentStatus = Literal[
    "open", "pending", "succeeded", "failed", "expired", "cancelled", "refunded", "disputed"
]


class ProviderUnavailable(Exception):
    """The provider timed out, failed, or its circuit is open: nothing was decided, retry later."""

    def __init__(self, provider: str, reason: str, *, retry_after: int = 30) -> None:
        super().__init__(f"{provider}: {reason}")
        self.provider = provider
        self.reason = reason
        self.retry_after = retry_after


class ProviderRejected(Exception):
    """The provider answered and refused the request (4xx): retrying the same call will not help.
    Does not count as an outage for the circuit breaker."""

    def __init__(self, provider: str, reason: str) -> None:
        super().__init__(f"{provider}: {reason}")
        self.provider = provider
        self.reason = reason


class WebhookRejected(Exception):
    """A webhook that is not provably from the provider, or too old: refused, nothing changes."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class SessionRequest:
    """What a hosted payment page needs; ``idempotency_key`` is derived from our own key."""

    checkout_id: str
    amount_jpy: int
    description: str
    method: Method | None
    idempotency_key: str
    success_url: str
    cancel_url: str
    expires_at: datetime
    confirmation: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderSession:
    session_id: str
    redirect_url: str


@dataclass(frozen=True)
class ProviderEvent:
    """A verified webhook event, mapped to our vocabulary (``kind`` None: nothing for us)."""

    event_id: str
    raw_type: str
    kind: EventKind | None
    checkout_id: str | None = None
    session_id: str | None = None
    payment_id: str | None = None
    amount_jpy: int | None = None
    method: str | None = None


@dataclass(frozen=True)
class ProviderPayment:
    """The provider's record of one payment, for reconciliation."""

    reference: str  # the provider's session id (what our checkout stores)
    checkout_id: str | None
    status: PaymentStatus
    amount_jpy: int
    payment_id: str | None = None
    created_at: datetime | None = None


class PaymentProvider(Protocol):
    """A payment provider adapter. Network calls are async; webhook parsing is pure."""

    name: ProviderName

    def supports(self, method: Method | None) -> bool: ...

    async def create_session(self, request: SessionRequest) -> ProviderSession: ...

    def parse_event(
        self, body: bytes, headers: Mapping[str, str], *, now: datetime
    ) -> ProviderEvent: ...

    async def fetch_payment(self, reference: str) -> ProviderPayment: ...

    async def list_payments(self, day: date) -> list[ProviderPayment]: ...

    async def refund(self, *, payment_id: str, amount_jpy: int, idempotency_key: str) -> None: ...

    async def cancel_session(self, reference: str) -> None:
        """End an unpaid hosted page so it can no longer be paid (Stripe expires it, KOMOJU
        cancels it); already ended is fine. ProviderRejected: it was paid, or cannot end."""
        ...


def provider_idempotency_key(scope: str, key: str, checkout_id: str, step: str) -> str:
    """The provider's idempotency key for one step, derived from ours (caller scope + key) and
    the checkout, so a retry of the same request repeats the same provider call exactly."""
    digest = hashlib.sha256(f"{scope}\x00{key}\x00{checkout_id}\x00{step}".encode()).hexdigest()
    return f"koepon-{step}-{digest[:48]}"


def hmac_sha256_hex(secret: bytes, message: bytes) -> str:
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def signed_header(header: str, scheme: str = "v1") -> tuple[int | None, list[str]]:
    """Parse ``t=<unix>,v1=<hex>[,v1=<hex>…]`` (several signatures during secret rotation)."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return None, []
        elif name == scheme and value:
            signatures.append(value)
    return timestamp, signatures
