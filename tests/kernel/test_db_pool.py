"""PostgreSQL pooled connections: checked before use only after sitting idle, and a dead idle
connection is replaced without the request noticing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text

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
