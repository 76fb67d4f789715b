"""The payment service as the draw saga calls it: every call timed out and circuit-broken.

Outages (timeouts, connection errors, 5xx answers) count as failures; after
``failures`` in a row the breaker opens and calls fail at once with ``PaymentUnavailable``
(503, ``Retry-After``) until a trial call ``reset_seconds`` later. A refusal of the wallet
(insufficient medals, a locked wallet, an expired hold…) is an answer, not an outage. While
the breaker is open the draw endpoint refuses new draws before anything is written.

When the payment service runs in this process (``MedalWallets.in_process``), a call that times
out, or finds no pooled connection in time, is this process's congestion (a spike saturating
the CPU), not payment being down: the saga still leaves the draw for later, but the breaker is
not moved, so a busy process does not start refusing every new draw with 503.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import structlog
from aiobreaker import CircuitBreaker, CircuitBreakerError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from koepon.contracts.payment import (
    MedalHold,
    MedalsRefused,
    MedalWallets,
    PaymentUnavailable,
    WalletBalance,
)
from koepon.kernel.breakers import is_open, seconds_until_trial
from koepon.kernel.metrics import breaker_metrics

log = structlog.get_logger(__name__)
T = TypeVar("T")


class _Answer(Exception):
    """Carries a business refusal through the breaker without counting it as a failure."""

    def __init__(self, refusal: MedalsRefused) -> None:
        super().__init__(str(refusal))
        self.refusal = refusal


class _Congested(Exception):
    """An in-process call that was slow, carried through the breaker without counting."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(repr(cause))
        self.cause = cause


class GuardedWallets:
    """``MedalWallets`` with a timeout per call and one circuit breaker for the service."""

    def __init__(
        self,
        inner: MedalWallets,
        *,
        timeout_seconds: float,
        failures: int,
        reset_seconds: int,
    ) -> None:
        self.inner = inner
        self.timeout_seconds = timeout_seconds
        self.reset_seconds = reset_seconds
        self.breaker = CircuitBreaker(
            fail_max=failures,
            timeout_duration=timedelta(seconds=reset_seconds),
            exclude=[_Answer, _Congested],
            name="gacha-payment",
            listeners=breaker_metrics(),
        )

    @property
    def circuit_open(self) -> bool:
        return is_open(self.breaker)

    def retry_after(self) -> int:
        return seconds_until_trial(self.breaker, unknown=self.reset_seconds)

    def refuse_if_open(self) -> None:
        """Refuse at once while the breaker is open (no trial due): nothing is written."""
        if self.circuit_open:
            raise PaymentUnavailable(
                "the payment service is unavailable; no medals were taken, try again shortly",
                headers={"Retry-After": str(self.retry_after())},
            )

    async def _call(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        in_process = getattr(self.inner, "in_process", False)

        async def guarded() -> T:
            try:
                return await asyncio.wait_for(call(), timeout=self.timeout_seconds)
            except MedalsRefused as refusal:
                if refusal.status >= 500:
                    raise  # the payment service answered that it is unavailable: an outage
                raise _Answer(refusal) from refusal
            except (TimeoutError, PoolTimeout) as slow:
                if in_process:
                    raise _Congested(slow) from slow
                raise

        try:
            result: T = await self.breaker.call_async(guarded)
            return result
        except _Answer as answer:
            raise answer.refusal from None
        except _Congested as congested:
            log.warning("gacha.payment.call_slow", call=what, error=repr(congested.cause))
            raise PaymentUnavailable(
                f"the payment service did not answer in time ({what})",
                headers={"Retry-After": str(self.reset_seconds)},
            ) from congested.cause
        except CircuitBreakerError as exc:
            raise PaymentUnavailable(
                "the payment service is unavailable (circuit open)",
                headers={"Retry-After": str(self.retry_after())},
            ) from exc
        except PaymentUnavailable:
            raise
        except Exception as exc:  # timeouts, connection errors, 5xx
            log.warning("gacha.payment.call_failed", call=what, error=repr(exc))
            raise PaymentUnavailable(
                f"the payment service did not answer ({what})",
                headers={"Retry-After": str(self.reset_seconds)},
            ) from exc

    async def reserve(
        self, user_id: str, medals: int, transfer_id: str, timeout_seconds: int = 60
    ) -> MedalHold:
        return await self._call(
            "reserve", lambda: self.inner.reserve(user_id, medals, transfer_id, timeout_seconds)
        )

    async def post(self, transfer_id: str, medals: int | None = None) -> MedalHold:
        return await self._call("post", lambda: self.inner.post(transfer_id, medals))

    async def void(self, transfer_id: str) -> MedalHold:
        return await self._call("void", lambda: self.inner.void(transfer_id))

    async def hold(self, transfer_id: str) -> MedalHold | None:
        return await self._call("hold", lambda: self.inner.hold(transfer_id))

    async def balance(self, user_id: str) -> WalletBalance:
        return await self._call("balance", lambda: self.inner.balance(user_id))
