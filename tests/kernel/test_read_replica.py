"""Read replicas against a real hot standby (``scripts/ensure-pg-replica``: 127.0.0.1:5433,
streaming from the test PostgreSQL): writes go to the primary and reach the standby; with
``KOEPON_DATABASE_REPLICA_URL`` set, the public catalogue and the history lists are read on the
standby, while a draw, its payment, balances and a single draw are read on the primary.

The proof pauses the standby's replay (``pg_wal_replay_pause``): what is written then exists on
the primary only, so a list that misses it was read on the standby, and a draw paid with medals
bought then was decided on the primary. Distributed backend only (SQLite has no replica).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from gacha import samples
from gacha.conftest import Desk, live_now
from koepon.app import Platform
from koepon.gacha.unit import GachaUnit
from koepon.kernel.db import Database, DatabaseUnreachable
from koepon.kernel.settings import Settings
from koepon.payment.wallet.audit import audit_ledger
from payment.fixtures.shop import Shop, payment_services, shop_fixture  # noqa: F401 - the shop
from vtuber.conftest import approved_vtuber

from .conftest import BACKENDS, PG_HOST

ROOT = Path(__file__).resolve().parents[2]
REPLICA_PORT = int(os.environ.get("KOEPON_PG_REPLICA_PORT", "5433"))
CATCH_UP_SECONDS = 60


def _standby_dsn(database: str = "postgres") -> str:
    return f"postgresql://postgres@127.0.0.1:{REPLICA_PORT}/{database}"


def _primary_dsn(database: str = "postgres") -> str:
    return f"postgresql://{PG_HOST}/{database}"


async def _standby_answers() -> bool:
    try:
        conn = await asyncpg.connect(_standby_dsn(), timeout=5)
    except (OSError, asyncpg.PostgresError):
        return False
    try:
        return bool(await conn.fetchval("SELECT pg_is_in_recovery()"))
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def standby() -> Iterator[None]:
    """The hot standby, started by ``scripts/ensure-pg-replica`` if it is not running."""
    if "distributed" not in BACKENDS:
        pytest.skip("a read replica exists on the distributed backend only")
    if not PG_HOST.endswith("@127.0.0.1:5432"):
        pytest.skip(f"the standby streams from 127.0.0.1:5432; the tests use {PG_HOST}")
    if not asyncio.run(_standby_answers()):
        started = subprocess.run(
            ["bash", str(ROOT / "scripts" / "ensure-pg-replica")],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if started.returncode != 0 or not asyncio.run(_standby_answers()):
            reason = (started.stderr or started.stdout).strip().splitlines()[-1:] or ["?"]
            pytest.skip(f"the hot standby on 127.0.0.1:{REPLICA_PORT} cannot start: {reason[0]}")
    yield


async def caught_up() -> None:
    """Wait until the standby has replayed everything the primary has written so far."""
    primary = await asyncpg.connect(_primary_dsn())
    try:
        target = await primary.fetchval("SELECT pg_current_wal_lsn()::text")
    finally:
        await primary.close()
    standby = await asyncpg.connect(_standby_dsn())
    try:
        deadline = time.monotonic() + CATCH_UP_SECONDS
        while not await standby.fetchval(
            "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", target
        ):
            assert time.monotonic() < deadline, f"the standby did not replay up to {target}"
            await asyncio.sleep(0.05)
    finally:
        await standby.close()


async def set_replay(paused: bool) -> None:
    """Pause or resume the standby's replay, and wait until it is so."""
    conn = await asyncpg.connect(_standby_dsn())
    try:
        await conn.execute(f"SELECT pg_wal_replay_{'pause' if paused else 'resume'}()")
        wanted = "paused" if paused else "not paused"
        deadline = time.monotonic() + CATCH_UP_SECONDS
        while await conn.fetchval("SELECT pg_get_wal_replay_pause_state()") != wanted:
            assert time.monotonic() < deadline, f"the standby's replay is not {wanted}"
            await asyncio.sleep(0.02)
    finally:
        await conn.close()


@pytest.fixture
def backend() -> str:
    return "distributed"


@pytest.fixture
async def settings(standby: None, settings: Settings) -> AsyncIterator[Settings]:
    """The test's settings with the standby as the read replica, once it holds the test's
    database (created on the primary from the template, so replicated like any write)."""
    assert settings.database_url is not None
    await set_replay(paused=False)  # a run stopped half-way may have left it paused
    await caught_up()
    replica = make_url(settings.database_url).set(host="127.0.0.1", port=REPLICA_PORT)
    yield settings.model_copy(
        update={"database_replica_url": replica.render_as_string(hide_password=False)}
    )


@pytest.fixture
async def desk(client: httpx.AsyncClient, platform: Platform, shop: Shop) -> AsyncIterator[Desk]:
    yield Desk(client, platform, shop)
    violations = await audit_ledger(platform.units["payment"].db)
    assert not violations, "ledger audit failed:\n" + "\n".join(violations)


async def test_without_a_replica_the_reader_is_the_primary(tmp_path: Path) -> None:
    sqlite = Database(
        f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", replica_url="postgresql+asyncpg://r/x"
    )
    primary = Database("postgresql+asyncpg://postgres@127.0.0.1:1/x", "gacha")
    try:
        assert sqlite.reader is sqlite and primary.reader is primary
    finally:
        await sqlite.dispose()
        await primary.dispose()


async def test_an_unreachable_replica_is_named_and_the_primary_untouched() -> None:
    """A replica that does not answer fails its reads as "database unavailable" (503)."""
    db = Database(
        "postgresql+asyncpg://postgres@127.0.0.1:1/x",
        "gacha",
        replica_url="postgresql+asyncpg://postgres@127.0.0.1:2/x",
    )
    try:
        assert db.reader.read_only and not db.read_only and db.reader.schema == "gacha"
        with pytest.raises(DatabaseUnreachable):
            async with db.reader.transaction() as session:
                await session.execute(text("SELECT 1"))
    finally:
        await db.dispose()


def _gacha_unit(platform: Platform) -> GachaUnit:
    unit = platform.units["gacha"]
    assert isinstance(unit, GachaUnit)
    return unit


async def _in_recovery(db: Any) -> bool:
    async with db.transaction(read_only=True) as session:
        return bool((await session.execute(text("SELECT pg_is_in_recovery()"))).scalar_one())


async def test_writes_go_to_the_primary_and_reach_the_replica(desk: Desk) -> None:
    db = _gacha_unit(desk.platform).db
    assert db.reader is not db and make_url(db.reader.url).port == REPLICA_PORT
    assert db.reader.schema == db.schema == "gacha"
    assert not await _in_recovery(db) and await _in_recovery(db.reader)

    gacha_id = await desk.publish(live_now(samples.weighted_raw()))
    await caught_up()
    async with db.reader.transaction() as session:
        found = await session.execute(
            text("SELECT title FROM gachas WHERE id = :id"), {"id": gacha_id}
        )
        assert found.scalar_one() == "テストガチャ"

    # The reader never writes, even when asked for a write transaction.
    with pytest.raises(DBAPIError, match="read-only"):
        async with db.reader.transaction() as session:
            await session.execute(
                text("UPDATE gachas SET title = 'x' WHERE id = :id"), {"id": gacha_id}
            )


async def test_catalogue_and_history_come_from_the_replica_money_never_does(desk: Desk) -> None:
    listed = await desk.publish(live_now(samples.weighted_raw()), title="見えるガチャ")
    fan = await desk.fan()
    await caught_up()
    first = await desk.client.get("/api/v1/gachas", headers=fan.headers)
    assert [g["id"] for g in first.json()["items"]] == [listed]
    known = await directory(desk, fan.headers)

    await set_replay(paused=True)
    try:
        # Written on the primary only: a new gacha, and the fan's first medals.
        hidden = await desk.publish(live_now(samples.weighted_raw()), title="新しいガチャ")
        newcomer = await approved_vtuber(desk.platform, fan.id, display_name="新人")
        pack = await desk.shop.pack(price_jpy=500, paid_medals=500)
        await desk.shop.buy(fan, pack)
        payment = payment_services(desk.platform)
        async with desk.shop.ctx.db.reader.transaction() as session:
            on_replica = await payment.wallet_views.balance(session, fan.id)
        assert (on_replica.paid_medals, on_replica.free_medals) == (0, 0)

        # The catalogue is read on the replica: the new gacha is not there yet.
        page = await desk.client.get("/api/v1/gachas", headers=fan.headers)
        assert page.status_code == 200, page.text
        assert [g["id"] for g in page.json()["items"]] == [listed]
        detail = await desk.client.get(f"/api/v1/gachas/{hidden}", headers=fan.headers)
        assert detail.status_code == 404, detail.text

        # The draw decides on the primary: it finds the gacha and pays with medals the
        # replica has never seen, exactly once.
        drawn = await desk.client.post(
            f"/api/v1/gachas/{hidden}/draws", json={"count": 1}, headers=fan.ik()
        )
        assert drawn.status_code == 200, drawn.text
        draw = drawn.json()
        assert draw["status"] == "completed" and draw["paid_medals"] == 300
        wallet = await desk.client.get("/api/v1/wallet", headers=fan.headers)
        assert (wallet.json()["paid_medals"], wallet.json()["free_medals"]) == (200, 0)
        assert await desk.shop.medals(fan.id) == (200, 0)
        # The draw just made is read on the primary; the history lists may lag.
        one = await desk.client.get(f"/api/v1/draws/{draw['id']}", headers=fan.headers)
        assert one.status_code == 200 and one.json()["results"] == draw["results"]
        history = await desk.client.get("/api/v1/draws", headers=fan.headers)
        assert history.status_code == 200 and history.json()["items"] == []
        moves = await desk.client.get("/api/v1/wallet/transactions", headers=fan.headers)
        assert moves.status_code == 200 and moves.json()["items"] == []
        page = await desk.client.get("/api/v1/gachas", headers=fan.headers)
        assert [g["id"] for g in page.json()["items"]] == [listed]
        assert await directory(desk, fan.headers) == known
    finally:
        await set_replay(paused=False)

    await caught_up()
    page = await desk.client.get("/api/v1/gachas", headers=fan.headers)
    assert {g["id"] for g in page.json()["items"]} == {listed, hidden}
    detail = await desk.client.get(f"/api/v1/gachas/{hidden}", headers=fan.headers)
    assert detail.status_code == 200 and detail.json()["title"] == "新しいガチャ"
    history = await desk.client.get("/api/v1/draws", headers=fan.headers)
    assert [d["id"] for d in history.json()["items"]] == [draw["id"]]
    moves = await desk.client.get("/api/v1/wallet/transactions", headers=fan.headers)
    effects = sorted(m["balance_effect"] for m in moves.json()["items"])
    assert sum(effects) == 200 and effects[-1] == 500
    assert await directory(desk, fan.headers) == known | {newcomer}


async def directory(desk: Desk, headers: dict[str, str]) -> set[str]:
    """The ids in the public VTuber directory."""
    answer = await desk.client.get("/api/v1/vtubers", params={"limit": 100}, headers=headers)
    assert answer.status_code == 200, answer.text
    return {entry["id"] for entry in answer.json()["items"]}
