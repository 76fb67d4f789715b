"""The sandbox provider: a built-in payment provider that runs the real flow without any keys.

It behaves like an outside provider: it keeps its own records, serves a hosted payment page at
the checkout's ``redirect_url``, and reports outcomes by posting **signed webhooks over HTTP**
to ``/api/v1/webhooks/sandbox``, exactly as Stripe or KOMOJU would. The signature header is
``Koepon-Sandbox-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``.

Each webhook is first written to the sandbox's book in the same transaction as the payment it
reports, then sent; until the platform answers 2xx it is retried with exponential back-off from
that record (as real providers do for days), so a crash or a restart never loses one. A failed,
expired, cancelled or settled session is final on the hosted page: paying again needs a new
checkout. 購入をやめる cancels the session (as Stripe's expiry and KOMOJU's cancel do).
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import structlog
from sqlalchemy import select

from koepon.kernel.clock import as_utc
from koepon.kernel.clock import jst_day_bounds as day_bounds
from koepon.kernel.db import Database
from koepon.kernel.problems import Problem
from koepon.kernel.settings import Settings
from koepon.payment.providers.base import (
    EventKind,
    Method,
    PaymentStatus,
    ProviderEvent,
    ProviderName,
    ProviderPayment,
    ProviderRejected,
    ProviderSession,
    SessionRequest,
    WebhookRejected,
    hmac_sha256_hex,
    signed_header,
)
from koepon.payment.providers.models import SandboxPayment, SandboxWebhook
from koepon.payment.providers.sandbox_webhooks import SIGNATURE_HEADER, Backoff, SandboxWebhooks

# Re-exported: callers build senders and sign test events through this module.
from koepon.payment.providers.sandbox_webhooks import WebhookSender as WebhookSender
from koepon.payment.providers.sandbox_webhooks import sign as sign
from koepon.payment.settings import PaymentSettings

log = structlog.get_logger(__name__)

WEBHOOK_PATH = "/api/v1/webhooks/sandbox"
DEV_SECRET_FILE = os.path.join("keys", "sandbox-webhook.key")
Outcome = Literal["succeeded", "failed", "pending", "paid", "expired", "cancelled"]
OUTCOMES: tuple[Outcome, ...] = ("succeeded", "failed", "pending", "paid", "expired", "cancelled")
EVENT_TYPES: dict[str, EventKind] = {
    "payment.pending": "pending",
    "payment.succeeded": "succeeded",
    "payment.failed": "failed",
    "payment.expired": "expired",
    "payment.cancelled": "cancelled",
    "payment.refunded": "refunded",
    "payment.disputed": "dispute_opened",
}
# What a fan can do on the hosted page from each state, and what the payment becomes. Failed,
# expired, cancelled and paid sessions are final, as on real hosted pages: a new try is a new
# checkout, checked against the spending limits again (COMPLIANCE A2/A3).
_MOVES: dict[Outcome, tuple[frozenset[str], str, str]] = {
    "succeeded": (frozenset({"open", "pending"}), "succeeded", "payment.succeeded"),
    "paid": (frozenset({"pending"}), "succeeded", "payment.succeeded"),
    "failed": (frozenset({"open"}), "failed", "payment.failed"),
    "pending": (frozenset({"open"}), "pending", "payment.pending"),
    "expired": (frozenset({"open", "pending"}), "expired", "payment.expired"),
    "cancelled": (frozenset({"open"}), "cancelled", "payment.cancelled"),
}
# Ending a page is allowed after its expiry time too (nobody can pay it any more either way).
_ENDINGS: frozenset[Outcome] = frozenset({"expired", "cancelled"})


def load_sandbox_secret(settings: Settings, own: PaymentSettings) -> bytes:
    """The configured webhook secret; outside production one generated once under data_dir."""
    if own.sandbox_webhook_secret is not None:
        return own.sandbox_webhook_secret.get_secret_value().encode()
    if settings.environment == "production":
        raise RuntimeError("KOEPON_SANDBOX_WEBHOOK_SECRET is required in production")
    path = settings.data_dir / DEV_SECRET_FILE
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32).encode()
    try:
        # O_EXCL: when another process created it first, use that one.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(value)
    return value


@dataclass(frozen=True)
class Completion:
    payment: SandboxPayment
    event_type: str
    webhook_status: int | None


class SandboxProvider:
    """The sandbox: records in the payment database, webhooks through ``sender``."""

    name: ProviderName = "sandbox"

    def __init__(
        self,
        *,
        db: Database,
        secret: bytes,
        public_url: str,
        tolerance_seconds: int,
        clock: Callable[[], datetime],
        backoff: Backoff,
        sender: WebhookSender | None = None,
    ) -> None:
        self.db = db
        self.secret = secret
        self.public_url = public_url.rstrip("/")
        self.tolerance_seconds = tolerance_seconds
        self.clock = clock
        self.webhooks = SandboxWebhooks(
            db=db, secret=secret, clock=clock, backoff=backoff, sender=sender
        )

    @property
    def sender(self) -> WebhookSender | None:
        return self.webhooks.sender

    @sender.setter
    def sender(self, sender: WebhookSender | None) -> None:
        self.webhooks.sender = sender

    # --- the provider interface -----------------------------------------------------------

    def supports(self, method: Method | None) -> bool:
        return True

    def page_url(self, checkout_id: str) -> str:
        return f"{self.public_url}/sandbox/checkouts/{checkout_id}"

    async def create_session(self, request: SessionRequest) -> ProviderSession:
        async with self.db.transaction() as session:
            existing = await session.scalar(
                select(SandboxPayment).where(
                    SandboxPayment.idempotency_key == request.idempotency_key
                )
            )
            if existing is not None:
                # Same idempotency key: the same session, as a real provider answers.
                if existing.amount_jpy != request.amount_jpy:
                    raise ProviderRejected(self.name, "idempotency key reused with other params")
                return ProviderSession(existing.session_id, self.page_url(existing.checkout_id))
            now = self.clock()
            payment = SandboxPayment(
                session_id=f"sbx_cs_{uuid.uuid4().hex}",
                payment_id=f"sbx_py_{uuid.uuid4().hex}",
                checkout_id=request.checkout_id,
                idempotency_key=request.idempotency_key,
                amount_jpy=request.amount_jpy,
                method=request.method,
                description=request.description[:200],
                confirmation=dict(request.confirmation),
                status="open",
                success_url=request.success_url,
                cancel_url=request.cancel_url,
                created_at=now,
                updated_at=now,
                expires_at=request.expires_at,
            )
            session.add(payment)
        return ProviderSession(payment.session_id, self.page_url(request.checkout_id))

    def parse_event(
        self, body: bytes, headers: Mapping[str, str], *, now: datetime
    ) -> ProviderEvent:
        header = headers.get(SIGNATURE_HEADER)
        if not header:
            raise WebhookRejected("webhook_signature_missing", "Sandbox signature header missing")
        timestamp, signatures = signed_header(header)
        if timestamp is None or not signatures:
            raise WebhookRejected("webhook_signature_invalid", "Malformed sandbox signature")
        expected = hmac_sha256_hex(self.secret, str(timestamp).encode() + b"." + body)
        if not any(hmac.compare_digest(expected, given) for given in signatures):
            raise WebhookRejected("webhook_signature_invalid", "Sandbox signature does not match")
        if abs(now.timestamp() - timestamp) > self.tolerance_seconds:
            raise WebhookRejected(
                "webhook_timestamp_out_of_tolerance",
                f"Webhook timestamp is more than {self.tolerance_seconds} s away from now",
            )
        try:
            event = json.loads(body)
            data = event["data"]
            return ProviderEvent(
                event_id=str(event["id"]),
                raw_type=str(event["type"]),
                kind=EVENT_TYPES.get(str(event["type"])),
                checkout_id=data.get("checkout_id"),
                session_id=data.get("session_id"),
                payment_id=data.get("payment_id"),
                amount_jpy=data.get("amount_jpy"),
                method=data.get("method"),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise WebhookRejected("webhook_payload_invalid", "Not a sandbox event") from exc

    async def fetch_payment(self, reference: str) -> ProviderPayment:
        async with self.db.sessionmaker() as session:
            payment = await session.get(SandboxPayment, reference)
        if payment is None:
            raise ProviderRejected(self.name, f"No sandbox session {reference}")
        return _payment(payment)

    async def list_payments(self, day: date) -> list[ProviderPayment]:
        start, end = day_bounds(day)
        async with self.db.sessionmaker() as session:
            rows = await session.scalars(
                select(SandboxPayment)
                .where(SandboxPayment.created_at >= start, SandboxPayment.created_at < end)
                .order_by(SandboxPayment.created_at)
            )
            return [_payment(row) for row in rows]

    async def refund(self, *, payment_id: str, amount_jpy: int, idempotency_key: str) -> None:
        async with self.db.transaction() as session:
            payment = await session.scalar(
                select(SandboxPayment).where(SandboxPayment.payment_id == payment_id)
            )
            if payment is None:
                raise ProviderRejected(self.name, f"No sandbox payment {payment_id}")
            if payment.status == "refunded":
                return  # refunding twice is a no-op, as with a repeated idempotency key
            if payment.status != "succeeded" or amount_jpy != payment.amount_jpy:
                raise ProviderRejected(self.name, "Only a whole succeeded payment is refundable")
            payment.status = "refunded"
            payment.updated_at = self.clock()
            owed = self.webhooks.owe(session, "payment.refunded", payment)
        await self.webhooks.attempt(owed, leased=True)

    async def cancel_session(self, reference: str) -> None:
        """The platform ends an unpaid page for the fan: cancelled, reported by webhook."""
        payment = await self.fetch_payment(reference)
        if payment.status == "cancelled":
            return  # already ended: cancelling twice is a no-op, as at the real providers
        if payment.status != "open" or payment.checkout_id is None:
            raise ProviderRejected(self.name, f"A {payment.status} session cannot be cancelled")
        try:
            await self.complete(payment.checkout_id, "cancelled")
        except Problem as exc:  # moved on meanwhile (paid, or ended)
            raise ProviderRejected(self.name, exc.detail or "cannot be cancelled") from exc

    # --- the hosted page side ---------------------------------------------------------------

    async def for_checkout(self, checkout_id: str) -> SandboxPayment | None:
        async with self.db.sessionmaker() as session:
            payment: SandboxPayment | None = await session.scalar(
                select(SandboxPayment).where(SandboxPayment.checkout_id == checkout_id)
            )
            return payment

    async def complete(self, checkout_id: str, outcome: Outcome) -> Completion:
        """The fan's action on the hosted page; then the signed webhook goes out."""
        async with self.db.transaction() as session:
            payment = await session.scalar(
                select(SandboxPayment).where(SandboxPayment.checkout_id == checkout_id)
            )
            if payment is None:
                raise Problem(404, "sandbox_checkout_not_found", "No sandbox checkout with this id")
            allowed_from, status, event_type = _MOVES[outcome]
            now = self.clock()
            expires_at = as_utc(payment.expires_at)
            if payment.status == "open" and expires_at <= now and outcome not in _ENDINGS:
                raise Problem(409, "sandbox_session_expired", "This payment page has expired")
            if payment.status not in allowed_from:
                raise Problem(
                    409,
                    "sandbox_outcome_not_allowed",
                    f"A {payment.status} payment cannot become {outcome}",
                    payment_status=payment.status,
                )
            payment.status = status
            payment.updated_at = now
            owed = self.webhooks.owe(session, event_type, payment)
        webhook_status = await self.webhooks.attempt(owed, leased=True)
        return Completion(payment, event_type, webhook_status)

    async def dispute(self, checkout_id: str) -> Completion:
        """Simulate the card holder's bank charging a succeeded payment back."""
        async with self.db.transaction() as session:
            payment = await session.scalar(
                select(SandboxPayment).where(SandboxPayment.checkout_id == checkout_id)
            )
            if payment is None:
                raise Problem(404, "sandbox_checkout_not_found", "No sandbox checkout with this id")
            if payment.status != "succeeded":
                raise Problem(409, "sandbox_outcome_not_allowed", "Only a paid payment is disputed")
            payment.status = "disputed"
            payment.updated_at = self.clock()
            owed = self.webhooks.owe(session, "payment.disputed", payment)
        webhook_status = await self.webhooks.attempt(owed, leased=True)
        return Completion(payment, "payment.disputed", webhook_status)

    # --- its webhooks (``sandbox_webhooks.py``) ------------------------------------------------

    async def deliver(self, event_type: str, payment: SandboxPayment) -> int | None:
        """Owe a webhook about ``payment`` and try to send it now."""
        async with self.db.transaction() as session:
            event_id = self.webhooks.owe(session, event_type, payment)
        return await self.webhooks.attempt(event_id, leased=True)

    async def deliver_due(self, *, limit: int = 50) -> int:
        return await self.webhooks.deliver_due(limit=limit)

    async def owed_webhooks(self) -> list[SandboxWebhook]:
        return await self.webhooks.owed()

    async def deliver_forever(self) -> None:
        await self.webhooks.deliver_forever()


_STATUSES: dict[str, PaymentStatus] = {
    "open": "open",
    "pending": "pending",
    "succeeded": "succeeded",
    "failed": "failed",
    "expired": "expired",
    "cancelled": "cancelled",
    "refunded": "refunded",
    "disputed": "disputed",
}


def _payment(payment: SandboxPayment) -> ProviderPayment:
    created = as_utc(payment.created_at)
    return ProviderPayment(
        reference=payment.session_id,
        checkout_id=payment.checkout_id,
        status=_STATUSES.get(payment.status, "open"),
        amount_jpy=payment.amount_jpy,
        payment_id=payment.payment_id,
        created_at=created,
    )


def describe_outcome(payment: SandboxPayment) -> dict[str, Any]:
    return {
        "checkout_id": payment.checkout_id,
        "session_id": payment.session_id,
        "payment_id": payment.payment_id,
        "status": payment.status,
    }
