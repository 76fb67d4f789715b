"""Every provider call goes through a circuit breaker (aiobreaker) with a timeout.

Timeouts and outages (``ProviderUnavailable``) count as failures; after ``failures`` in a row the
circuit opens and calls fail at once with ``ProviderUnavailable`` until a trial call is allowed
``reset_seconds`` later. A provider's refusal (``ProviderRejected``) is an answer, not an outage.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

import structlog
from aiobreaker import CircuitBreaker, CircuitBreakerError, CircuitBreakerState

from koepon.payment.providers.base import (
    Method,
    PaymentProvider,
    ProviderEvent,
    ProviderName,
    ProviderPayment,
    ProviderRejected,
    ProviderSession,
    ProviderUnavailable,
    SessionRequest,
)

log = structlog.get_logger(__name__)
T = TypeVar("T")


class GuardedProvider:
    """A provider whose network calls are timed out and circuit-broken."""

    def __init__(
        self,
        provider: PaymentProvider,
        *,
        timeout_seconds: float,
        failures: int,
        reset_seconds: float,
    ) -> None:
        self.inner = provider
        self.name: ProviderName = provider.name
        self.timeout_seconds = timeout_seconds
        self.reset_seconds = reset_seconds
        self.breaker = CircuitBreaker(
            fail_max=failures,
            timeout_duration=timedelta(seconds=reset_seconds),
            exclude=[ProviderRejected],
            name=f"payment-provider-{provider.name}",
        )

    @property
    def circuit_open(self) -> bool:
        return bool(self.breaker.current_state == CircuitBreakerState.OPEN)

    def _retry_after(self) -> int:
        opened_at: datetime | None = self.breaker._state_storage.opened_at  # naive UTC
        if opened_at is None:
            return math.ceil(self.reset_seconds)
        reset: timedelta = self.breaker.timeout_duration
        left = opened_at + reset - datetime.now(UTC).replace(tzinfo=None)
        return max(1, math.ceil(left.total_seconds()))

    async def _call(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        async def timed() -> T:
            try:
                return await asyncio.wait_for(call(), timeout=self.timeout_seconds)
            except TimeoutError as exc:
                raise ProviderUnavailable(self.name, f"{what} timed out") from exc

        try:
            result: T = await self.breaker.call_async(timed)
            return result
        except CircuitBreakerError as exc:
            log.warning("payment.provider.circuit_open", provider=self.name, call=what)
            raise ProviderUnavailable(
                self.name, "circuit open after repeated failures", retry_after=self._retry_after()
            ) from exc
        except (ProviderUnavailable, ProviderRejected):
            raise
        except Exception as exc:
            # Anything unexpected from an SDK is an outage as far as the caller can tell.
            log.warning("payment.provider.error", provider=self.name, call=what, error=repr(exc))
            raise ProviderUnavailable(self.name, f"{what} failed") from exc

    def supports(self, method: Method | None) -> bool:
        return self.inner.supports(method)

    async def create_session(self, request: SessionRequest) -> ProviderSession:
        return await self._call("create_session", lambda: self.inner.create_session(request))

    def parse_event(
        self, body: bytes, headers: Mapping[str, str], *, now: datetime
    ) -> ProviderEvent:
        return self.inner.parse_event(body, headers, now=now)

    async def fetch_payment(self, reference: str) -> ProviderPayment:
        return await self._call("fetch_payment", lambda: self.inner.fetch_payment(reference))

    async def list_payments(self, day: date) -> list[ProviderPayment]:
        return await self._call("list_payments", lambda: self.inner.list_payments(day))

    async def cancel_session(self, reference: str) -> None:
        await self._call("cancel_session", lambda: self.inner.cancel_session(reference))

    async def refund(self, *, payment_id: str, amount_jpy: int, idempotency_key: str) -> None:
        await self._call(
            "refund",
            lambda: self.inner.refund(
                payment_id=payment_id, amount_jpy=amount_jpy, idempotency_key=idempotency_key
            ),
        )
