"""An open breaker is closed by the gateway's own readiness question, never by a fan's request:
one GET of the service's /readyz however many requests are waiting, the circuit closed and
those requests served when it says ready, kept open (and nobody let through) when it does not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from koepon.gateway import upstreams
from koepon.gateway.proxy import create_proxy_app
from koepon.kernel.settings import Settings

from .test_proxy import AUTH, PAYMENT, Services, assert_problem, echo_service, wait_until

pytestmark = pytest.mark.parametrize("backend", ["embedded"], indirect=True)
RESET = 0.3


class Restarting(Services):
    """The services, with payment down, then up but not ready, then ready; paths counted."""

    def __init__(self, apps: dict[str, FastAPI]) -> None:
        super().__init__(apps)
        self.paths: list[str] = []
        self.down = False
        self.readiness = 200
        self.readiness_hangs = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "payment.test":
            self.paths.append(request.url.path)
            if self.down:
                raise httpx.ConnectError("connection refused", request=request)
            if request.url.path == "/readyz":
                if self.readiness_hangs:
                    await asyncio.Event().wait()
                return httpx.Response(self.readiness, json={}, request=request)
        return await super().handle_async_request(request)

    def fan_requests(self) -> int:
        return sum(1 for path in self.paths if path != "/readyz")


@pytest.fixture
async def edge(
    edge_settings: Settings, signing_key: Any
) -> AsyncIterator[Callable[[], tuple[httpx.AsyncClient, Restarting]]]:
    clients: list[httpx.AsyncClient] = []

    def make() -> tuple[httpx.AsyncClient, Restarting]:
        seen: list[dict[str, Any]] = []
        services = Restarting(
            {
                "auth.test": echo_service("auth", seen, signing_key.jwks),
                "payment.test": echo_service("payment", seen, signing_key.jwks),
            }
        )
        settings = edge_settings.model_copy(
            update={
                "service_urls": {"auth": AUTH, "payment": PAYMENT},
                "gateway_breaker_failures": 2,
                "gateway_breaker_reset_seconds": RESET,
            }
        )
        app = create_proxy_app(settings, transport=services)
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://koepon.test"
        )
        clients.append(http)
        return http, services

    yield make
    for http in clients:
        await http.aclose()


async def trip(http: httpx.AsyncClient, services: Restarting) -> None:
    services.down = True
    for _ in range(2):
        assert_problem(await http.get("/api/v1/wallet"), 502, "upstream_unavailable")
    assert_problem(await http.get("/api/v1/wallet"), 503, "upstream_unavailable")


async def reset_elapsed() -> None:
    await asyncio.sleep(RESET + 0.05)  # the breaker's own period: nothing to wait on instead


async def test_a_burst_after_the_reset_asks_readiness_once_and_is_served(edge) -> None:
    http, services = edge()
    await trip(http, services)
    services.down = False
    await reset_elapsed()
    services.paths.clear()
    answers = await asyncio.gather(*(http.get("/api/v1/wallet") for _ in range(20)))
    assert [a.status_code for a in answers] == [200] * 20
    assert services.paths.count("/readyz") == 1
    assert services.paths[0] == "/readyz"  # asked before any fan's request went through


async def test_a_service_not_ready_yet_keeps_the_circuit_open_and_fans_out(edge) -> None:
    http, services = edge()
    await trip(http, services)
    services.down = False
    services.readiness = 503  # listening, but its database is not there yet
    before = services.fan_requests()
    await reset_elapsed()
    refused = await http.get("/api/v1/wallet")
    assert_problem(refused, 503, "upstream_unavailable")
    assert int(refused.headers["retry-after"]) >= 1
    assert services.fan_requests() == before
    # Refused at once until the next trial, without asking again.
    asked = services.paths.count("/readyz")
    assert_problem(await http.get("/api/v1/wallet"), 503, "upstream_unavailable")
    assert services.paths.count("/readyz") == asked

    services.readiness = 200

    async def served() -> bool:
        return (await http.get("/api/v1/wallet")).status_code == 200

    await wait_until(served, within=5, interval=0.05)


async def test_a_trial_that_hangs_gives_up_quickly(edge, monkeypatch) -> None:
    monkeypatch.setattr(upstreams, "TRIAL_TIMEOUT_SECONDS", 0.2)
    http, services = edge()
    await trip(http, services)
    services.down = False
    services.readiness_hangs = True
    await reset_elapsed()
    started = asyncio.get_running_loop().time()
    assert_problem(await http.get("/api/v1/wallet"), 503, "upstream_unavailable")
    assert asyncio.get_running_loop().time() - started < 2
    assert services.fan_requests() == 2  # only the two that tripped the breaker
