"""PostgreSQL pooled connections: checked before use only after sitting idle, and a dead idle
connection is replaced without the request noticing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.requests import Request

from koepon.kernel import db as db_module
from koepon.kernel.db import Database

from .conftest import PG_ADMIN_DSN

pytestmark = pytest.mark.distributed


@pytest.fixture
async def database(pg_url: str) -> AsyncIterator[Database]:
    database = Database(pg_url, pool_size=1)
    yield database
    await database.dispose()


async def backend_pid(database: Database) -> int:
    async with database.transaction(read_only=True) as session:
        return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


def count_pings(database: Database, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    pings: list[int] = []
    dialect = database.engine.sync_engine.dialect
    ping = dialect.do_ping

    def counted(dbapi_connection: object) -> bool:
        pings.append(1)
        return ping(dbapi_connection)  # type: ignore[arg-type]

    monkeypatch.setattr(dialect, "do_ping", counted)
    return pings


async def test_a_connection_used_a_moment_ago_is_not_checked_again(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One round trip less per transaction: a draw runs about twelve."""
    pings = count_pings(database, monkeypatch)
    first = await backend_pid(database)
    assert [await backend_pid(database) for _ in range(5)] == [first] * 5
    assert pings == []
    monkeypatch.setattr(db_module, "IDLE_PING_SECONDS", 0.0)  # as if it sat idle
    assert await backend_pid(database) == first
    assert pings == [1]


async def test_a_dead_idle_connection_is_replaced_before_the_request_uses_it(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PostgreSQL restart (here: its backend terminated) leaves the pooled connection dead;
    after an idle while, the check finds it and the pool connects afresh."""
    first = await backend_pid(database)
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
    finally:
        await admin.close()
    monkeypatch.setattr(db_module, "IDLE_PING_SECONDS", 0.0)
    second = await backend_pid(database)
    assert second != first


def get_request() -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": []})


async def hold_read(database: Database, opened: asyncio.Event, release: asyncio.Event) -> None:
    """A GET request's session (its own task, as each request is), open until ``release``."""
    session_of = database.session_dependency(get_request())
    session = await session_of.__anext__()
    await session.execute(text("SELECT 1"))
    opened.set()
    await release.wait()
    with contextlib.suppress(StopAsyncIteration):
        await session_of.__anext__()


async def test_request_reads_leave_half_the_pool_to_writes(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A storm of GETs (fans polling their draws) must not starve the draws themselves: reads
    hold at most half the pool's connections; writes always find the other half."""
    monkeypatch.setattr(db_module, "POOL_TIMEOUT_SECONDS", 1)
    database = Database(pg_url, pool_size=2)  # 2 + 2 overflow connections
    release = asyncio.Event()
    opened = [asyncio.Event() for _ in range(2)]
    readers = [asyncio.create_task(hold_read(database, o, release)) for o in opened]
    try:
        await asyncio.wait_for(asyncio.gather(*(o.wait() for o in opened)), 5)
        with pytest.raises(PoolTimeout):  # a third read waits for its turn, then gives up
            await asyncio.wait_for(hold_read(database, asyncio.Event(), release), 3)

        async def write() -> int:
            async with database.transaction() as session:
                await asyncio.sleep(0.2)  # both writes hold a connection at once
                return int((await session.execute(text("SELECT 1"))).scalar_one())

        assert await asyncio.wait_for(asyncio.gather(write(), write()), 5) == [1, 1]
        release.set()
        await asyncio.wait_for(asyncio.gather(*readers), 5)
        late = asyncio.Event()
        release_late = asyncio.Event()
        release_late.set()
        await asyncio.wait_for(hold_read(database, late, release_late), 5)
        assert late.is_set()
    finally:
        release.set()
        await asyncio.gather(*readers, return_exceptions=True)
        await database.dispose()
