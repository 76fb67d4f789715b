"""Composition root: wires services, adapters and clients for the embedded or distributed mode."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import structlog
from fastapi import FastAPI

from koepon.auth import client as auth_client
from koepon.auth import unit as auth_unit
from koepon.contracts.clients import Clients
from koepon.gacha import unit as gacha_unit
from koepon.gateway import install_gateway
from koepon.gateway.realtime import CONSUMER as REALTIME
from koepon.gateway.realtime import Realtime, install_realtime
from koepon.kernel import jobs
from koepon.kernel.bus.inprocess import InProcessBus
from koepon.kernel.bus.rabbitmq import RabbitMQBus
from koepon.kernel.cache import cache_from_settings
from koepon.kernel.health import health_router, outbox_lag
from koepon.kernel.inbox import Inbox
from koepon.kernel.migrations import upgrade_async
from koepon.kernel.observability import RequestContextMiddleware
from koepon.kernel.openapi import document_problems
from koepon.kernel.outbox import EVENT_WRITTEN, OutboxRelay
from koepon.kernel.problems import install_problem_handlers
from koepon.kernel.ratelimit import RateLimiter
from koepon.kernel.routers import attach
from koepon.kernel.runtime import Runtime, ServiceUnit
from koepon.kernel.settings import SERVICES, Settings
from koepon.kernel.tokens import Authenticator, TokenVerifier
from koepon.payment import client as payment_client
from koepon.payment import settings as payment_settings
from koepon.payment import unit as payment_unit
from koepon.rewards import client as rewards_client
from koepon.rewards import unit as rewards_unit
from koepon.vtuber import client as vtuber_client
from koepon.vtuber import unit as vtuber_unit
from koepon.web.site import install_web

log = structlog.get_logger(__name__)
INBOX_RETENTION = timedelta(days=30)
# The first purge waits this long after start: starting services write enough already (and a
# short-lived process, such as a test's, never has a purge half-way when it stops).
INBOX_PURGE_DELAY_SECONDS = 60.0
STOP_SECONDS = 5
# How long a stop waits for the loops to end their round before cancelling them.
STOP_GRACE_SECONDS = 2

# In dependency order: a service is built after the services whose clients it takes.
BUILDERS: dict[str, Callable[[Runtime, Clients], ServiceUnit]] = {
    "auth": auth_unit.build,
    "payment": payment_unit.build,
    "gacha": gacha_unit.build,
    "rewards": rewards_unit.build,
    "vtuber": vtuber_unit.build,
}
REMOTE_CLIENTS: dict[str, Callable[[str, str], Any]] = {
    "auth": auth_client.HttpAuthClient,
    "payment": payment_client.HttpMedalWallets,
    "rewards": rewards_client.HttpRewardsContents,
    "vtuber": vtuber_client.HttpVtuberTeams,
}


class Platform:
    """The services of this process, their adapters, relays and consumers."""

    def __init__(self, settings: Settings, services: tuple[str, ...] = SERVICES) -> None:
        unknown = set(services) - set(SERVICES)
        if unknown:
            raise ValueError(f"Unknown services: {', '.join(sorted(unknown))}")
        self.settings = settings
        # What the legal pages state about medals, as the payment service applies it (the same
        # environment configures every process, so a process without payment states it too).
        self.medal_terms = payment_settings.load(settings).medal_terms()
        self.cache = cache_from_settings(settings)
        verifier = TokenVerifier(
            self._jwks,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            refresh_seconds=settings.jwks_refresh_seconds,
        )
        self.runtime = Runtime(
            settings=settings,
            cache=self.cache,
            rate_limiter=RateLimiter.from_settings(settings),
            authenticator=Authenticator(verifier),
        )
        self.bus: InProcessBus | RabbitMQBus = (
            RabbitMQBus(settings.amqp_url, exchange=settings.amqp_exchange)
            if settings.amqp_url
            else InProcessBus()
        )
        self.clients = Clients()
        self.units: dict[str, ServiceUnit] = {}
        internal = settings.internal_token.get_secret_value() if settings.internal_token else ""
        for name in SERVICES:
            if name in services:
                unit = BUILDERS[name](self.runtime, self.clients)
                self.units[name] = unit
                setattr(self.clients, name, unit.client)
            elif name in settings.service_urls and name in REMOTE_CLIENTS:
                setattr(
                    self.clients, name, REMOTE_CLIENTS[name](settings.service_urls[name], internal)
                )
        self.relays: dict[str, OutboxRelay] = {}
        for name, unit in self.units.items():
            relay = OutboxRelay(
                unit.db,
                unit.outbox_table,
                self.bus,
                poll_seconds=settings.relay_poll_seconds,
            )
            unit.db.on_commit(relay.wake, marked=EVENT_WRITTEN)
            self.relays[name] = relay
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._loops: list[asyncio.Task[None]] = []
        self._shutdown = jobs.Shutdown()
        self._realtime: Realtime | None = None
        self._started = False

    async def _jwks(self) -> dict[str, Any]:
        if "auth" in self.units:
            jwks: dict[str, Any] = await self.units["auth"].client.jwks()
            return jwks
        url = self.settings.service_urls.get("auth")
        if not url:
            raise RuntimeError("No auth service in this process and no KOEPON_SERVICE_URLS.auth")
        async with httpx.AsyncClient(timeout=5) as http:
            response = await http.get(f"{url.rstrip('/')}/.well-known/jwks.json")
            response.raise_for_status()
            result: dict[str, Any] = response.json()
            return result

    async def migrate(self) -> None:
        """Bring each service's database up to date and declare its queues on the broker.

        Queues exist before any event is published, so nothing published before the first
        worker starts is dropped by the broker.
        """
        for unit in self.units.values():
            await upgrade_async(unit.migrations, unit.db.url, unit.db.schema)
        if isinstance(self.bus, RabbitMQBus):
            await self.bus.connect()
            for unit in self.units.values():
                for consumer in unit.consumers:
                    await self.bus.declare(consumer.name, consumer.topics)

    async def start(self, *, relay: bool = True, consume: bool = True) -> None:
        """Start relays (outbox → bus), consumers and each service's background work."""
        self._stop.clear()
        if isinstance(self.bus, RabbitMQBus):
            try:
                await self.bus.connect()
            except Exception as exc:
                if consume:
                    raise
                # An API process still serves while the broker is down: the outbox keeps
                # the events and the relay reconnects when it publishes.
                log.warning("bus.unavailable_at_start", error=repr(exc))
        if consume:
            for unit in self.units.values():
                for consumer in unit.consumers:
                    self.bus.subscribe(consumer.name, consumer.topics, consumer.handler)
            if self._realtime is not None:  # started with the units' consumers, not on its own
                pushes = self._realtime.consumer
                self.bus.subscribe(pushes.name, pushes.topics, pushes.handler)
            if isinstance(self.bus, RabbitMQBus):
                await self.bus.start_consuming()
            if self._realtime is not None:
                self._realtime.consuming.set()
        elif self._realtime is not None:
            self._tasks.append(asyncio.create_task(self._consume_realtime()))
        self._started = True
        if self._realtime is not None:
            self._realtime.start()
        # The loops (relays, each service's background work): asked to end at stop, so that
        # none is cut in the middle of a transaction (kernel/jobs.py).
        self._shutdown = jobs.Shutdown()
        loops = []
        if relay:
            loops += [relay_.run(self._stop) for relay_ in self.relays.values()]
        for unit in self.units.values():
            loops += [work() for work in unit.background]
            if unit.inbox_table is not None:
                loops.append(self._purge_inbox(unit))
        self._loops = [jobs.spawn(loop, self._shutdown) for loop in loops]
        self._tasks += self._loops

    def realtime(self) -> Realtime:
        """The Socket.IO server of this process, built by the first app that serves the edge.

        Its consumer runs only in processes that serve the gateway, whether or not they consume
        the services' events (``koepon worker`` never builds it): real-time pushes go out where
        the sockets are."""
        if self._realtime is None:
            self._realtime = Realtime(self.settings, self.cache, self.clients.auth)
            if self._started and _loop_running():  # an app built after start (tests)
                self._tasks.append(asyncio.create_task(self._consume_realtime()))
                self._realtime.start()
        return self._realtime

    async def _consume_realtime(self) -> None:
        assert self._realtime is not None
        await self._realtime.consume(self.bus, self._stop)

    async def _purge_inbox(self, unit: ServiceUnit) -> None:
        """Forget consumed message ids after 30 days (far beyond any redelivery)."""
        assert unit.inbox_table is not None
        inbox = Inbox(unit.inbox_table)
        await jobs.pause(INBOX_PURGE_DELAY_SECONDS, self._stop)
        while not self._stop.is_set():
            try:
                async with unit.db.transaction() as session:
                    await inbox.purge(session, older_than=INBOX_RETENTION)
            except Exception as exc:
                log.warning("inbox.purge_failed", service=unit.name, error=repr(exc))
            await jobs.pause(3600, self._stop)

    async def drain(self) -> None:
        """Relay everything committed so far (tests and shutdown)."""
        for relay_ in self.relays.values():
            while await relay_.relay_once():
                pass

    async def stop(self) -> None:
        self._stop.set()
        self._shutdown.request()
        if self._loops:
            # A loop in a pause ends at once; one in the middle of a round finishes it first.
            await asyncio.wait(self._loops, timeout=STOP_GRACE_SECONDS)
        self._loops = []
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            # Bounded: a job that does not end when cancelled must not hold the process.
            _done, stuck = await asyncio.wait(self._tasks, timeout=STOP_SECONDS)
            for task in stuck:
                log.warning("platform.job_did_not_stop", job=repr(task.get_coro()))
        self._tasks.clear()
        self._started = False
        if isinstance(self.bus, RabbitMQBus):
            await self.bus.close()
        if self._realtime is not None:
            await self._realtime.close()
        for unit in self.units.values():
            for hook in unit.on_shutdown:
                try:
                    await asyncio.wait_for(hook(), STOP_SECONDS)
                except Exception as exc:
                    log.warning("platform.shutdown_hook_failed", service=unit.name, error=repr(exc))
            try:
                await asyncio.wait_for(unit.db.dispose(), STOP_SECONDS)
            except Exception as exc:
                log.warning("platform.dispose_failed", service=unit.name, error=repr(exc))
        await self.runtime.authenticator.verifier.close()
        await self.cache.close()


def consumer_names() -> list[str]:
    """The name of every event consumer a platform declares a queue for (its services' and
    the gateway's), read from a platform built in memory and never started: what clearing an
    exchange's queues must name when other processes declared them (tests, benchmarks)."""
    with tempfile.TemporaryDirectory() as scratch:
        platform = Platform(Settings(data_dir=Path(scratch), environment="test"))
        names = {c.name for unit in platform.units.values() for c in unit.consumers}
    return sorted(names | {REALTIME})


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def readiness(platform: Platform) -> dict[str, Callable[[], Any]]:
    async def databases() -> bool:
        from sqlalchemy import text

        for unit in platform.units.values():
            async with unit.db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        return True

    async def cache() -> bool:
        return await platform.cache.ping()

    # Only what a request needs: the broker is not (the outbox holds events while it is down).
    return {"databases": databases, "cache": cache}


def health_details(platform: Platform) -> dict[str, Callable[[], Any]]:
    """What requests can do without, for operators: the broker and each outbox's lag."""
    checks: dict[str, Callable[[], Any]] = {}
    if isinstance(platform.bus, RabbitMQBus):
        checks["bus"] = platform.bus.ping
    for name, relay in platform.relays.items():
        checks[f"outbox.{name}"] = outbox_lag(relay.db, relay.table)
    return checks


def create_app(
    platform: Platform,
    *,
    gateway: bool = True,
    manage_lifecycle: bool = True,
    migrate: bool = False,
    seed: bool = False,
    consume: bool = True,
    announce: str | None = None,
) -> FastAPI:
    """The ASGI app of this process: its services' routes, behind the gateway if embedded."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            if migrate:
                await platform.migrate()
            if seed:
                from koepon.seed import seed_demo

                await seed_demo(platform)
            await platform.start(consume=consume)
        if announce:
            print(announce, file=sys.stderr, flush=True)
        try:
            yield
        finally:
            if manage_lifecycle:
                await platform.stop()

    app = FastAPI(
        title="Koepon",
        version="1",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.platform = platform
    app.state.medal_terms = platform.medal_terms
    install_problem_handlers(app)
    document_problems(app)
    for unit in platform.units.values():
        attach(app, unit.router)
        if unit.internal_router is not None:
            app.include_router(unit.internal_router, include_in_schema=False)
    attach(
        app,
        health_router(
            readiness(platform), details=health_details(platform), settings=platform.settings
        ),
    )
    if gateway:
        install_web(app, platform.runtime.cache, public_url=platform.settings.public_url)
        install_gateway(app, platform.runtime, session_owner=platform.clients.auth)
        install_realtime(app, platform.realtime())
    name = "+".join(platform.units) if not gateway else "gateway"
    app.add_middleware(RequestContextMiddleware, service=name, settings=platform.settings)
    return app
