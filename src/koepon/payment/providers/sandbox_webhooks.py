"""The sandbox provider's webhooks: signed, recorded in its book in the same transaction as the
payment they report, then sent; until the platform answers 2xx each is retried with exponential
back-off from that record (as real providers do for days), so a crash or a restart loses none.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.kernel import jobs
from koepon.kernel.db import Database
from koepon.payment.providers.base import hmac_sha256_hex
from koepon.payment.providers.models import SandboxPayment, SandboxWebhook
from koepon.payment.settings import PaymentSettings

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "koepon-sandbox-signature"
# A delivery being sent is leased for this long, so two senders do not post it at once.
LEASE_SECONDS = 60
DELIVER_EVERY_SECONDS = 1.0


@dataclass(frozen=True)
class Backoff:
    """Webhook retries: by default 1 s, 2 s, 4 s … at most an hour apart, 30 tries (about a
    day), then given up; the platform's recovery job still asks the sandbox's book about the
    payment. Settings: sandbox_webhook_retry_first_seconds, _retry_max_seconds, _max_attempts."""

    first_seconds: float
    max_seconds: float
    max_attempts: int

    @classmethod
    def from_settings(cls, settings: PaymentSettings) -> Backoff:
        return cls(
            first_seconds=settings.sandbox_webhook_retry_first_seconds,
            max_seconds=settings.sandbox_webhook_retry_max_seconds,
            max_attempts=settings.sandbox_webhook_max_attempts,
        )

    def delay(self, attempts: int) -> timedelta:
        """How long to wait after the ``attempts``-th failed delivery."""
        exponent = min(max(attempts - 1, 0), 40)
        return timedelta(seconds=min(self.first_seconds * 2**exponent, self.max_seconds))


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    """The sandbox signature header value for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={hmac_sha256_hex(secret, str(timestamp).encode() + b'.' + body)}"


def event_body(
    *, event_type: str, payment: SandboxPayment, created: int, event_id: str | None = None
) -> bytes:
    """A sandbox webhook event (JSON bytes, exactly what gets signed)."""
    event = {
        "id": event_id or f"evt_sbx_{uuid.uuid4().hex}",
        "type": event_type,
        "created": created,
        "data": {
            "session_id": payment.session_id,
            "payment_id": payment.payment_id,
            "checkout_id": payment.checkout_id,
            "amount_jpy": payment.amount_jpy,
            "currency": "JPY",
            "method": payment.method,
            "status": payment.status,
        },
    }
    return json.dumps(event, separators=(",", ":")).encode()


class WebhookSender:
    """Posts one signed webhook (``attempts`` quick tries); the sandbox's book retries later."""

    def __init__(self, http: httpx.AsyncClient, url: str, *, attempts: int = 1) -> None:
        self.http = http
        self.url = url
        self.attempts = attempts

    async def send(self, body: bytes, signature: str) -> int | None:
        status: int | None = None
        for attempt in range(self.attempts):
            if attempt:
                await asyncio.sleep(0.2 * attempt)
            try:
                response = await self.http.post(
                    self.url,
                    content=body,
                    headers={"content-type": "application/json", SIGNATURE_HEADER: signature},
                )
            except httpx.HTTPError as exc:
                log.warning("sandbox.webhook_unreachable", url=self.url, error=repr(exc))
                continue
            status = response.status_code
            if status < 500:
                return status
        return status


class SandboxWebhooks:
    """The webhooks the sandbox owes the platform, and their delivery."""

    def __init__(
        self,
        *,
        db: Database,
        secret: bytes,
        clock: Callable[[], datetime],
        backoff: Backoff,
        sender: WebhookSender | None = None,
    ) -> None:
        self.db = db
        self.secret = secret
        self.clock = clock
        self.backoff = backoff
        self.sender = sender

    def owe(self, session: AsyncSession, event_type: str, payment: SandboxPayment) -> str:
        """Record, in the caller's transaction, the webhook reporting ``payment``: it is then
        delivered whatever happens to this process. Returns its event id.

        It is recorded already leased to the caller, which sends it at once with
        ``attempt(event_id, leased=True)``: the background sender cannot take it in between (the
        hosted page would then report no status for a webhook that is on its way); should this
        process stop first, the lease runs out and the background sender delivers it."""
        now = self.clock()
        event_id = f"evt_sbx_{uuid.uuid4().hex}"
        body = event_body(
            event_type=event_type, payment=payment, created=int(now.timestamp()), event_id=event_id
        )
        session.add(
            SandboxWebhook(
                event_id=event_id,
                session_id=payment.session_id,
                event_type=event_type,
                body=body.decode(),
                attempts=1,
                next_attempt_at=now + timedelta(seconds=LEASE_SECONDS),
                created_at=now,
            )
        )
        return event_id

    async def attempt(self, event_id: str, *, leased: bool = False) -> int | None:
        """Send one owed webhook if it is due and nobody else is sending it (``leased``: the
        caller holds its lease from ``owe``); the platform's status code, or None when not sent
        or unreachable (it stays owed, retried later)."""
        if self.sender is None:
            log.warning("sandbox.no_webhook_sender", event_id=event_id)
            return None
        if leased:
            async with self.db.transaction(read_only=True) as session:
                held = await session.get(SandboxWebhook, event_id)
                if held is None or held.delivered_at is not None:
                    return None
                body, attempts, event_type = held.body.encode(), held.attempts, held.event_type
            return await self._send(event_id, body, attempts, event_type)
        now = self.clock()
        async with self.db.transaction() as session:
            # Lease it: a conditional update, so of two senders only one wins the attempt.
            won = await session.execute(
                update(SandboxWebhook)
                .where(
                    SandboxWebhook.event_id == event_id,
                    SandboxWebhook.delivered_at.is_(None),
                    SandboxWebhook.next_attempt_at <= now,
                )
                .values(
                    attempts=SandboxWebhook.attempts + 1,
                    next_attempt_at=now + timedelta(seconds=LEASE_SECONDS),
                )
            )
            if won.rowcount != 1:  # type: ignore[attr-defined]
                return None
            owed = await session.get(SandboxWebhook, event_id, populate_existing=True)
            assert owed is not None
            body, attempts, event_type = owed.body.encode(), owed.attempts, owed.event_type
        return await self._send(event_id, body, attempts, event_type)

    async def _send(self, event_id: str, body: bytes, attempts: int, event_type: str) -> int | None:
        assert self.sender is not None
        signed_at = int(self.clock().timestamp())
        status = await self.sender.send(body, sign(self.secret, body, signed_at))
        done = status is not None and 200 <= status < 300
        async with self.db.transaction() as session:
            values: dict[str, Any] = {"last_status": status}
            if done:
                values.update(delivered_at=self.clock(), next_attempt_at=None)
            elif attempts >= self.backoff.max_attempts:
                values.update(next_attempt_at=None)  # given up, as providers do after days
            else:
                values.update(next_attempt_at=self.clock() + self.backoff.delay(attempts))
            await session.execute(
                update(SandboxWebhook).where(SandboxWebhook.event_id == event_id).values(**values)
            )
        log.info(
            "sandbox.webhook_sent",
            event_type=event_type,
            event_id=event_id,
            status=status,
            attempts=attempts,
        )
        return status

    async def deliver_due(self, *, limit: int = 50) -> int:
        """Send every owed webhook whose retry time has come; returns how many were accepted."""
        now = self.clock()
        async with self.db.sessionmaker() as session:
            due = list(
                await session.scalars(
                    select(SandboxWebhook.event_id)
                    .where(
                        SandboxWebhook.delivered_at.is_(None),
                        SandboxWebhook.next_attempt_at <= now,
                    )
                    .order_by(SandboxWebhook.next_attempt_at)
                    .limit(limit)
                )
            )
        accepted = 0
        for event_id in due:
            status = await self.attempt(event_id)
            if status is not None and 200 <= status < 300:
                accepted += 1
        return accepted

    async def owed(self) -> list[SandboxWebhook]:
        """Webhooks not yet accepted by the platform, oldest first."""
        async with self.db.sessionmaker() as session:
            rows = await session.scalars(
                select(SandboxWebhook)
                .where(SandboxWebhook.delivered_at.is_(None))
                .order_by(SandboxWebhook.created_at)
            )
            return list(rows)

    async def deliver_forever(self) -> None:
        """The background sender: owed webhooks go out as their retry time comes."""
        while True:
            with contextlib.suppress(Exception):
                await self.deliver_due()
            await jobs.pause(DELIVER_EVERY_SECONDS)
