"""Fixtures of the kernel tests: the probe service on SQLite (embedded) or on a throwaway
PostgreSQL database (distributed), and a throwaway RabbitMQ exchange per test."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import pytest

from koepon.kernel.bus.rabbitmq import delete_topology
from koepon.kernel.db import Database
from worker_share import redis_url

from .probe import CONSUMERS, Probe

PG_ADMIN_DSN = os.environ.get("KOEPON_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_HOST = os.environ.get("KOEPON_TEST_PG_HOST", "postgres@127.0.0.1:5432")
# Not the platform tests' database (they flush theirs), so concurrent runs cannot interfere.
REDIS_URL = os.environ.get("KOEPON_TEST_KERNEL_REDIS_URL") or redis_url("kernel")
AMQP_URL = os.environ.get("KOEPON_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
BACKENDS = [
    b for b in os.environ.get("KOEPON_TEST_BACKENDS", "embedded,distributed").split(",") if b
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """``embedded`` (SQLite, in-process bus) or ``distributed`` (PostgreSQL, RabbitMQ)."""
    return str(request.param)


def _admin(sql: str) -> None:
    """Run one statement on the PostgreSQL server from any context, even inside a running
    event loop (fixtures of async fixtures), through a short-lived thread."""

    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (SQLAlchemy asyncpg URL), dropped afterwards."""
    name = f"koepon_k_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"')
    yield f"postgresql+asyncpg://{PG_HOST}/{name}"
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def exchange() -> AsyncIterator[str]:
    """A throwaway topic exchange; its queues (also those of child processes) are deleted."""
    name = f"koepon.ktest.{uuid.uuid4().hex[:8]}"
    yield name
    await delete_topology(AMQP_URL, name, consumers=[*CONSUMERS, "poison", "other"])


async def _probe(url: str) -> Probe:
    probe = Probe(Database(url))
    await probe.create_tables()
    return probe


@pytest.fixture
async def pg_probe(pg_url: str) -> AsyncIterator[Probe]:
    probe = await _probe(pg_url)
    yield probe
    await probe.db.dispose()


@pytest.fixture
async def sqlite_probe(tmp_path) -> AsyncIterator[Probe]:  # type: ignore[no-untyped-def]
    probe = await _probe(f"sqlite+aiosqlite:///{tmp_path / 'probe.sqlite'}")
    yield probe
    await probe.db.dispose()


@pytest.fixture
def probe(backend: str, request: pytest.FixtureRequest) -> Probe:
    """The probe service on the backend's database."""
    name = "pg_probe" if backend == "distributed" else "sqlite_probe"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that only make sense on real services follow ``KOEPON_TEST_BACKENDS`` too."""
    if "distributed" in BACKENDS:
        return
    here = os.path.dirname(__file__)
    dropped = [
        i for i in items if str(i.path).startswith(here) and i.get_closest_marker("distributed")
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if i not in dropped]
