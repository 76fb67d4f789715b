"""A service killed and restarted is back behind the gateway within seconds of being ready, even
when the breaker's trials failed while it was restarting (the outage bench saw a ready payment
service refused for another 9 s: its only trial had hit the process before it listened)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from .conftest import Stack
from .test_outages import assert_outage, signed_in_fan

pytestmark = pytest.mark.distributed

# The stack's gateway waits 2 s before a trial; the rest is room for two busy cores.
BACK_WITHIN_SECONDS = 4.0


@pytest.fixture
async def http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.gateway, timeout=30) as client:
        yield client
    assert stack.server_errors() == []


async def test_a_restarted_service_serves_through_the_gateway_soon_after_it_is_ready(
    stack: Stack, http: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    _, fan = await signed_in_fan(http)
    assert (await http.get("/api/v1/wallet", headers=fan)).status_code == 200
    payment = stack.processes["payment"]
    os.kill(payment.popen.pid, signal.SIGKILL)
    payment.popen.wait(timeout=10)
    for attempt in range(4):  # refused connections trip the breaker (3 failures in the stack)
        assert_outage(
            await http.get("/api/v1/wallet", headers=fan),
            502 if attempt < 3 else 503,
            "upstream_unavailable",
        )
    gateway_log_lines = len(stack.processes["gateway"].lines())

    ready_at: float | None = None
    served_at: float | None = None

    async def watch_readiness() -> None:
        nonlocal ready_at
        async with httpx.AsyncClient(timeout=1) as direct:
            while ready_at is None:
                try:
                    answer = await direct.get(f"{stack.url('payment')}/readyz")
                    if answer.status_code == 200:
                        ready_at = time.monotonic()
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)

    async def fan_retries() -> None:
        """A fan's app retrying all along, so trials are asked for while the process starts."""
        nonlocal served_at
        while served_at is None:
            answer = await http.get("/api/v1/wallet", headers=fan)
            if answer.status_code == 200:
                served_at = time.monotonic()
            else:  # never a hang or a 500 meanwhile: the breaker's 503, or a refused connection
                assert answer.status_code in (502, 503), answer.text
                assert_outage(answer, answer.status_code, "upstream_unavailable")
            await asyncio.sleep(0.1)

    restart = asyncio.to_thread(stack.start, "payment")
    await asyncio.wait_for(asyncio.gather(watch_readiness(), fan_retries(), restart), 60)
    assert ready_at is not None and served_at is not None
    back_after = max(0.0, served_at - ready_at)
    with capsys.disabled():
        print(f"\n[restart] payment served through the gateway {back_after:.2f} s after /readyz")
    assert back_after <= BACK_WITHIN_SECONDS
    # The gateway asked the restarting process itself (and was refused) before it was ready.
    events = [line.get("event") for line in stack.processes["gateway"].lines()]
    assert "gateway.circuit_trial_failed" in events[gateway_log_lines:]
