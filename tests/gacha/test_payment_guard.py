"""The saga's guard around the payment service (``GuardedWallets``): an outage opens the
circuit breaker; a slow answer from a payment service in this very process is congestion and
does not (a spike that saturates the CPU must not turn into 503 for every new draw)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeout

from koepon.contracts.payment import MedalHold, PaymentUnavailable
from koepon.gacha.draws.wallets import GuardedWallets

FAILURES = 3


class SlowWallets:
    """Answers every call only after ``seconds`` (longer than the guard waits)."""

    def __init__(self, *, in_process: bool, seconds: float = 5.0) -> None:
        self.in_process = in_process
        self.seconds = seconds

    async def reserve(self, *args: Any, **kwargs: Any) -> MedalHold:
        await asyncio.sleep(self.seconds)
        raise AssertionError("the guard should have given up")

    post = void = hold = reserve


class PoolExhausted:
    """Every call finds no pooled connection in time (SQLAlchemy's pool timeout)."""

    in_process = True

    async def reserve(self, *args: Any, **kwargs: Any) -> MedalHold:
        raise PoolTimeout("QueuePool limit of size 1 overflow 1 reached")

    post = void = hold = reserve


class Refused:
    """A payment service that cannot be reached at all."""

    in_process = True

    async def reserve(self, *args: Any, **kwargs: Any) -> MedalHold:
        raise ConnectionRefusedError("payment is down")

    post = void = hold = reserve


def guard(inner: Any) -> GuardedWallets:
    return GuardedWallets(inner, timeout_seconds=0.05, failures=FAILURES, reset_seconds=30)


async def fail_calls(wallets: GuardedWallets, times: int) -> None:
    for n in range(times):
        with pytest.raises(PaymentUnavailable):
            await wallets.reserve("fan", 10, f"draw-{n}")


@pytest.mark.parametrize("inner", [SlowWallets(in_process=True), PoolExhausted()])
async def test_a_slow_payment_in_this_process_never_opens_the_breaker(inner: Any) -> None:
    wallets = guard(inner)
    await fail_calls(wallets, FAILURES * 3)
    assert not wallets.circuit_open
    wallets.refuse_if_open()  # new draws are still accepted


async def test_a_slow_remote_payment_service_opens_the_breaker() -> None:
    wallets = guard(SlowWallets(in_process=False))
    await fail_calls(wallets, FAILURES)
    assert wallets.circuit_open
    with pytest.raises(PaymentUnavailable) as refused:
        wallets.refuse_if_open()
    assert int(refused.value.headers["Retry-After"]) >= 1


async def test_a_refused_connection_opens_the_breaker_even_in_process() -> None:
    wallets = guard(Refused())
    await fail_calls(wallets, FAILURES)
    assert wallets.circuit_open
