"""Fixtures: every platform test runs against the embedded default and against real
PostgreSQL + Redis + RabbitMQ, with the same test body (``backend`` is parametrised).

``KOEPON_TEST_BACKENDS=embedded`` (or ``distributed``) narrows the run.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
import uvicorn

from koepon.app import Platform, create_app
from koepon.kernel.settings import Settings

PG_ADMIN_DSN = os.environ.get("KOEPON_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_HOST = os.environ.get("KOEPON_TEST_PG_HOST", "postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("KOEPON_TEST_REDIS_URL", "redis://127.0.0.1:6379/1")
AMQP_URL = os.environ.get("KOEPON_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
BACKENDS = [
    b for b in os.environ.get("KOEPON_TEST_BACKENDS", "embedded,distributed").split(",") if b
]
TEST_INTERNAL_TOKEN = "test-internal-token-" + uuid.uuid4().hex


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec and callspec.params.get("backend") == "distributed":
            item.add_marker(pytest.mark.distributed)


def pg_url(database: str) -> str:
    return f"postgresql+asyncpg://{PG_HOST}/{database}"


async def create_database(name: str, template: str | None = None) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        clause = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{clause}')
    finally:
        await conn.close()


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def base_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "internal_token": TEST_INTERNAL_TOKEN,
        "relay_poll_seconds": 0.05,
        "rate_limit_per_ip": "100000/minute",
        "rate_limit_per_user": "100000/minute",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL database that each distributed test copies (fast and isolated)."""
    if "distributed" not in BACKENDS:
        yield ""
        return
    name = f"koepon_tpl_{uuid.uuid4().hex[:10]}"

    async def build() -> None:
        await create_database(name)
        platform = Platform(base_settings(database_url=pg_url(name)))
        try:
            await platform.migrate()
        finally:
            await platform.stop()

    asyncio.run(build())
    yield name
    asyncio.run(drop_database(name))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def settings(backend: str, tmp_path, pg_template: str) -> AsyncIterator[Settings]:  # type: ignore[no-untyped-def]
    if backend == "embedded":
        yield base_settings(data_dir=tmp_path / "data")
        return
    database = f"koepon_t_{uuid.uuid4().hex[:12]}"
    await create_database(database, template=pg_template)
    redis = aioredis.Redis.from_url(REDIS_URL)
    await redis.flushdb()
    exchange = f"koepon.test.{uuid.uuid4().hex[:8]}"
    try:
        yield base_settings(
            data_dir=tmp_path / "data",
            database_url=pg_url(database),
            redis_url=REDIS_URL,
            amqp_url=AMQP_URL,
            amqp_exchange=exchange,
        )
    finally:
        await redis.flushdb()
        await redis.aclose()
        await drop_database(database)
        from koepon.kernel.bus.rabbitmq import delete_topology

        await delete_topology(AMQP_URL, exchange)


@pytest.fixture
async def platform(settings: Settings, backend: str) -> AsyncIterator[Platform]:
    platform = Platform(settings)
    if backend == "embedded":
        await platform.migrate()
    await platform.start()
    try:
        yield platform
    finally:
        await platform.stop()


@pytest.fixture
async def client(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client to the whole platform behind the gateway (in-process ASGI)."""
    app = create_app(platform, manage_lifecycle=False)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def listener() -> socket.socket:
    """A bound loopback socket, so the platform's public URL is known before it serves."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
async def served(platform: Platform, listener: socket.socket) -> AsyncIterator[str]:
    """The platform under a real uvicorn server on ``listener``; yields its base URL."""
    app = create_app(platform, manage_lifecycle=False)
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    )
    task = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


@pytest.fixture
async def chromium() -> AsyncIterator[object]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()
