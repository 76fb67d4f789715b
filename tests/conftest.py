"""Fixtures: every platform test runs against the embedded default and against real
PostgreSQL + Redis + RabbitMQ, with the same test body (``backend`` is parametrised).

``KOEPON_TEST_BACKENDS=embedded`` (or ``distributed``) narrows the run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import argon2
import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
import uvicorn

from database_stock import DatabaseStock
from koepon.app import Platform, create_app
from koepon.auth.settings import AuthSettings
from koepon.gacha.settings import GachaSettings
from koepon.kernel.settings import Settings
from koepon.payment.settings import PaymentSettings
from koepon.rewards.settings import RewardsSettings
from memory_discipline import MemoryDiscipline

# The S3 server (moto on loopback) as the session fixture ``s3_server``: started on first use only.
from s3_server import s3_server, unique_prefix  # noqa: F401
from seeded_template import (
    SeededTemplate,
    copy_objects,
    restore_redis_keys,
    seed_settled,
)
from worker_share import redis_url

PG_ADMIN_DSN = os.environ.get("KOEPON_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_HOST = os.environ.get("KOEPON_TEST_PG_HOST", "postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("KOEPON_TEST_REDIS_URL") or redis_url("platform")
AMQP_URL = os.environ.get("KOEPON_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
BACKENDS = [
    b for b in os.environ.get("KOEPON_TEST_BACKENDS", "embedded,distributed").split(",") if b
]
TEST_INTERNAL_TOKEN = "test-internal-token-" + uuid.uuid4().hex


# Each service's own settings, so tests can name any setting and have it reach its service.
SERVICE_SETTINGS: dict[str, type[Any]] = {
    "auth": AuthSettings,
    "payment": PaymentSettings,
    "gacha": GachaSettings,
    "rewards": RewardsSettings,
}


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(MemoryDiscipline(), "koepon-memory-discipline")
    config.addinivalue_line(
        "markers",
        "service_settings(**by_service): the platform is built with these services' settings, "
        'e.g. @pytest.mark.service_settings(payment={"prepaid_alert_jpy": 700})',
    )


# Modules that start stacks of platform processes (up to 14 each, with their own servers): in a
# run spread over several test processes (``make test``), one process runs all of them in turn,
# so two stacks never compete for the two cores and their timing-sensitive waits.
PROCESS_STACK_MODULES = frozenset(
    {
        "test_distributed_processes.py",
        "test_api_fuzz.py",
        "deploy/test_nginx_edge.py",
        "deploy/test_replica_failover.py",
        "resilience/test_outages.py",
        "resilience/test_service_restart.py",
    }
)
TESTS_DIR = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups off the markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec and callspec.params.get("backend") == "distributed":
            item.add_marker(pytest.mark.distributed)
        if item.path.relative_to(TESTS_DIR).as_posix() in PROCESS_STACK_MODULES:
            item.add_marker(pytest.mark.xdist_group("process-stacks"))


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
    """Test settings; an override naming a service's own setting (``payment_providers``,
    ``login_window_seconds``…) is given to that service."""
    values: dict[str, object] = {
        "environment": "test",
        "internal_token": TEST_INTERNAL_TOKEN,
        "rate_limit_per_ip": "100000/minute",
        "rate_limit_per_user": "100000/minute",
    }
    # A draw request waits up to 10 s for its result (2 s by default): on a loaded machine a
    # saga may take longer than 2 s, and a test expecting the 200 answer would get the 202 one.
    # Tests of the 202 path set their own wait.
    overrides = {"draw_wait_ms": 10_000, **overrides}
    by_service: dict[str, dict[str, object]] = {}
    for name, value in overrides.items():
        owner = next((s for s, cls in SERVICE_SETTINGS.items() if name in cls.model_fields), None)
        if owner is None:
            values[name] = value
        else:
            by_service.setdefault(owner, {})[name] = value
    settings = Settings(**values)  # type: ignore[arg-type]
    return with_services(settings, by_service)


def with_services(settings: Settings, by_service: dict[str, dict[str, object]]) -> Settings:
    """``settings`` whose services take these settings of theirs over the environment's."""
    for service, given in by_service.items():
        settings = settings.with_service_settings(service, **given)
    return settings


def _marked_services(request: pytest.FixtureRequest) -> dict[str, dict[str, object]]:
    marker = request.node.get_closest_marker("service_settings")
    return dict(marker.kwargs) if marker else {}


@pytest.fixture(scope="session")
def database_stock() -> Iterator[DatabaseStock]:
    """Copies of the template databases made ahead of the tests (``database_stock.py``)."""
    stock = DatabaseStock(PG_ADMIN_DSN)
    try:
        yield stock
    finally:
        stock.close()


@pytest.fixture(scope="session")
def pg_template(database_stock: DatabaseStock) -> Iterator[str]:
    """A migrated PostgreSQL database that each distributed test copies (fast and isolated)."""
    if "distributed" not in BACKENDS:
        yield ""
        return
    name = f"koepon_tpl_{uuid.uuid4().hex[:10]}"
    database_stock.create(name)

    async def build() -> None:
        platform = Platform(base_settings(database_url=pg_url(name)))
        try:
            await platform.migrate()
        finally:
            await platform.stop()

    asyncio.run(build())
    yield name
    database_stock.close()  # no copy of it is being made while it is dropped
    asyncio.run(drop_database(name))


@pytest.fixture(scope="session")
def embedded_template(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """A migrated embedded data dir (every service's SQLite file, the dev keys) that each
    embedded test copies, like the PostgreSQL template: no test re-runs the migrations."""
    if "embedded" not in BACKENDS:
        return None
    data_dir = tmp_path_factory.mktemp("embedded-template") / "data"

    async def build() -> None:
        platform = Platform(base_settings(data_dir=data_dir))
        try:
            await platform.migrate()
        finally:
            await platform.stop()

    asyncio.run(build())
    return data_dir


@pytest.fixture(scope="session")
def pg_seeded_template(
    pg_template: str,
    database_stock: DatabaseStock,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[SeededTemplate]:
    """The demo data seeded once on the migrated database (``seeded_template.py``): its own
    database, S3 prefix, data dir and Redis keys, copied into each distributed ``seeded`` test."""
    s3 = request.getfixturevalue("s3_server")
    name = f"koepon_seeded_{uuid.uuid4().hex[:10]}"
    prefix = unique_prefix()
    data_dir = tmp_path_factory.mktemp("seeded-template") / "data"
    exchange = f"koepon.test.{uuid.uuid4().hex[:8]}"

    async def build() -> SeededTemplate:
        from koepon.kernel.bus.rabbitmq import delete_topology

        redis = aioredis.Redis.from_url(REDIS_URL)
        await redis.flushdb()
        await redis.aclose()
        settings = base_settings(
            data_dir=data_dir,
            database_url=pg_url(name),
            redis_url=REDIS_URL,
            amqp_url=AMQP_URL,
            amqp_exchange=exchange,
            **s3.settings(prefix),
        )
        try:
            # Without a migrated template (a run without the distributed backend), migrate here.
            keys = await seed_settled(settings, REDIS_URL, migrate=not pg_template)
        finally:
            await delete_topology(AMQP_URL, exchange)
        return SeededTemplate(data_dir, database=name, s3_prefix=prefix, redis_keys=keys)

    database_stock.create(name, template=pg_template or None)
    template = asyncio.run(build())
    yield template
    database_stock.close()
    asyncio.run(drop_database(name))


@pytest.fixture(scope="session")
def embedded_seeded_template(
    embedded_template: Path | None, tmp_path_factory: pytest.TempPathFactory
) -> SeededTemplate:
    """The demo data seeded once on a copy of the migrated data dir (``seeded_template.py``),
    copied into each embedded ``seeded`` test. A test may ask for the embedded backend in a
    run without it (no migrated template then): the data dir is migrated here instead."""
    data_dir = tmp_path_factory.mktemp("seeded-embedded") / "data"
    if embedded_template is not None:
        shutil.copytree(embedded_template, data_dir)
    settings = base_settings(data_dir=data_dir)
    asyncio.run(seed_settled(settings, migrate=embedded_template is None))
    return SeededTemplate(data_dir)


# Set on a test whose data came from a seeded template: ``seeded`` does not seed again.
SEEDED_COPY = pytest.StashKey[bool]()


def _wants_seeded_copy(request: pytest.FixtureRequest) -> bool:
    """A test asking for ``seeded`` with the default services' settings starts from a copy of
    the seeded template; with settings of its own (``service_settings``) it seeds itself."""
    return "seeded" in request.fixturenames and not _marked_services(request)


@pytest.fixture
def seeded_source(backend: str, request: pytest.FixtureRequest) -> SeededTemplate | None:
    """The seeded template this test's data is copied from, if any (built on first use, outside
    the test's event loop)."""
    wants = _wants_seeded_copy(request)
    request.node.stash[SEEDED_COPY] = wants
    if not wants:
        return None
    name = "embedded_seeded_template" if backend == "embedded" else "pg_seeded_template"
    template: SeededTemplate = request.getfixturevalue(name)
    return template


@pytest.fixture
async def seeded(platform: Platform, request: pytest.FixtureRequest) -> Platform:
    """The platform with the demo data (``seed_demo``): a copy of the session's seeded template
    (see ``settings``), or seeded here when the test's services have settings of their own.
    Settings a test changes after ``settings`` (``public_url``, a provider's transport…) must
    not change what the seed creates; none of today's do."""
    if not request.node.stash.get(SEEDED_COPY, False):
        from koepon.seed import seed_demo

        await seed_demo(platform)
    return platform


# The passwords tests sign up and sign in with. argon2 is slow on purpose; hashing and checking
# these once per session (the rest are hashed for real, with the same parameters) keeps hundreds
# of sign-ups and sign-ins cheap. Also cached: the demo accounts' password (``seed.py``) and the
# hash ``Passwords`` makes of its dummy password each time a platform is built.
TEST_PASSWORDS = frozenset(
    {
        "correct horse battery",
        "correct horse battery staple",
        "koepon-demo",
        "koepon-dummy-password",
    }
)


@pytest.fixture(scope="session", autouse=True)
def cached_test_password_hashes() -> Iterator[None]:
    real_hash, real_verify = argon2.PasswordHasher.hash, argon2.PasswordHasher.verify
    hashes: dict[tuple[Any, ...], str] = {}
    verified: dict[tuple[str, str], Any] = {}

    def hash_(self: argon2.PasswordHasher, password: str | bytes, **kwargs: Any) -> str:
        if password not in TEST_PASSWORDS or kwargs:
            return real_hash(self, password, **kwargs)
        params = (self.time_cost, self.memory_cost, self.parallelism, self.hash_len, self.type)
        key = (*params, self.salt_len, str(password))
        if key not in hashes:
            hashes[key] = real_hash(self, password)
        return hashes[key]

    def verify(self: argon2.PasswordHasher, hash: str | bytes, password: str | bytes) -> Any:
        if password not in TEST_PASSWORDS or hash not in hashes.values():
            return real_verify(self, hash, password)
        key = (str(hash), str(password))
        if key not in verified:
            verified[key] = real_verify(self, hash, password)  # raises on a mismatch
        return verified[key]

    argon2.PasswordHasher.hash = hash_  # type: ignore[method-assign]
    argon2.PasswordHasher.verify = verify  # type: ignore[method-assign]
    try:
        yield
    finally:
        argon2.PasswordHasher.hash = real_hash  # type: ignore[method-assign]
        argon2.PasswordHasher.verify = real_verify  # type: ignore[method-assign]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def settings(  # type: ignore[no-untyped-def]
    backend: str,
    tmp_path,
    pg_template: str,
    embedded_template: Path | None,
    request: pytest.FixtureRequest,
    seeded_source: SeededTemplate | None,
    database_stock: DatabaseStock,
) -> AsyncIterator[Settings]:
    seeded = seeded_source  # the demo data, for a test asking for ``seeded``
    if backend == "embedded":
        # The migrated template is copied only when a test builds the platform from it.
        if seeded is not None:
            shutil.copytree(seeded.data_dir, tmp_path / "data")
        elif embedded_template is not None and "platform" in request.fixturenames:
            shutil.copytree(embedded_template, tmp_path / "data")
        yield with_services(base_settings(data_dir=tmp_path / "data"), _marked_services(request))
        return
    # Object storage: the distributed backend uses the S3 adapter against moto on loopback (its
    # own key prefix per test), the embedded one local disk: the same tests pass on both.
    s3 = request.getfixturevalue("s3_server")
    prefix = unique_prefix()
    template = seeded.database if seeded else pg_template
    database = await asyncio.to_thread(database_stock.take, template)
    redis = aioredis.Redis.from_url(REDIS_URL)
    await redis.flushdb()
    if seeded is not None:
        await restore_redis_keys(redis, seeded.redis_keys)
        await asyncio.to_thread(copy_objects, s3, seeded.s3_prefix, prefix)
        if seeded.data_dir.exists():  # the dev signing key, when the seed made one
            shutil.copytree(seeded.data_dir, tmp_path / "data")
    exchange = f"koepon.test.{uuid.uuid4().hex[:8]}"
    try:
        yield with_services(
            base_settings(
                data_dir=tmp_path / "data",
                database_url=pg_url(database),
                redis_url=REDIS_URL,
                amqp_url=AMQP_URL,
                amqp_exchange=exchange,
                **s3.settings(prefix),
            ),
            _marked_services(request),
        )
    finally:
        await redis.flushdb()
        await redis.aclose()
        database_stock.give_back(database)
        from koepon.kernel.bus.rabbitmq import delete_topology

        await delete_topology(AMQP_URL, exchange)


@pytest.fixture
async def platform(settings: Settings, backend: str) -> AsyncIterator[Platform]:
    platform = Platform(settings)
    if backend == "embedded" and not (settings.data_dir / "payment.db").exists():
        await platform.migrate()  # no template copied (a test building its own data dir)
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


# After the whole run has passed and reported, a native extension may crash while the
# interpreter tears itself down (seen once as a segfault after "N passed"). The result is
# known by then: leave at once with it instead of running that teardown.
_EXIT_STATUS: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT_STATUS.append(int(exitstatus))


def pytest_unconfigure(config: pytest.Config) -> None:
    if _EXIT_STATUS and not hasattr(config, "workerinput"):
        import sys

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS[-1])
