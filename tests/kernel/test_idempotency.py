"""Our own Idempotency-Key: claim once, replay the stored response, 422 on a changed request,
409 while in flight, take over after a crash, forget after the keeping time."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated

import asyncpg
import httpx
import pytest
from fastapi import Depends, FastAPI
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import MetaData, select

from koepon.kernel.db import Database
from koepon.kernel.idempotency import (
    Claim,
    IdempotencyKeys,
    StoredResponse,
    fingerprint,
    idempotency_key,
    idempotency_table,
    valid_key,
)
from koepon.kernel.problems import Problem, dependency_of, install_problem_handlers
from resilience.servers import PostgresCluster

from .conftest import PG_ADMIN_DSN, PG_HOST
from .probe import wait_until


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def db(backend: str, tmp_path) -> AsyncIterator[Database]:  # type: ignore[no-untyped-def]
    """The keys on SQLite (embedded) or on a throwaway PostgreSQL database (distributed)."""
    if backend == "embedded":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'idem.db'}")
        yield database
        await database.dispose()
        return
    name = f"koepon_idem_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    database = Database(f"postgresql+asyncpg://{PG_HOST}/{name}")
    try:
        yield database
    finally:
        await database.dispose()
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@pytest.fixture
async def keys(db: Database) -> AsyncIterator[IdempotencyKeys]:
    metadata = MetaData()
    table = idempotency_table(metadata)
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    keys = IdempotencyKeys(db, table, lock_seconds=30, keep_hours=24, clock=Clock())
    yield keys
    await keys.close()


def clock_of(keys: IdempotencyKeys) -> Clock:
    assert isinstance(keys.clock, Clock)
    return keys.clock


async def test_first_claim_wins_and_the_stored_response_is_replayed(keys: IdempotencyKeys) -> None:
    claim = await keys.claim(scope="u1", key="k", fingerprint="f")
    assert isinstance(claim, Claim) and claim.recovery_point is None
    async with keys.db.transaction() as session:
        await keys.complete(session, claim, status=201, body={"id": "c1"})
    replay = await keys.claim(scope="u1", key="k", fingerprint="f")
    assert replay == StoredResponse(201, {"id": "c1"})


async def test_a_changed_request_with_the_same_key_is_422(keys: IdempotencyKeys) -> None:
    await keys.claim(scope="u1", key="k", fingerprint="f")
    with pytest.raises(Problem) as refused:
        await keys.claim(scope="u1", key="k", fingerprint="other")
    assert refused.value.status == 422
    assert refused.value.code == "idempotency_key_reused"


async def test_a_key_in_flight_is_409_with_retry_after(keys: IdempotencyKeys) -> None:
    await keys.claim(scope="u1", key="k", fingerprint="f")
    with pytest.raises(Problem) as busy:
        await keys.claim(scope="u1", key="k", fingerprint="f")
    assert busy.value.status == 409
    assert busy.value.code == "idempotency_in_flight"
    assert int(busy.value.headers["Retry-After"]) >= 1


async def test_keys_are_scoped_to_their_caller(keys: IdempotencyKeys) -> None:
    assert isinstance(await keys.claim(scope="u1", key="k", fingerprint="f"), Claim)
    assert isinstance(await keys.claim(scope="u2", key="k", fingerprint="other"), Claim)


async def test_after_a_crash_a_retry_takes_over_at_the_recovery_point(
    keys: IdempotencyKeys,
) -> None:
    claim = await keys.claim(scope="u1", key="k", fingerprint="f")
    assert isinstance(claim, Claim)
    async with keys.db.transaction() as session:
        await keys.checkpoint(session, claim, "checkout_recorded", {"checkout_id": "c1"})
    clock_of(keys).now += timedelta(seconds=31)  # the first attempt died holding the key
    retry = await keys.claim(scope="u1", key="k", fingerprint="f")
    assert isinstance(retry, Claim)
    assert retry.recovery_point == "checkout_recorded"
    assert retry.recovery_data == {"checkout_id": "c1"}


async def test_a_released_key_can_be_claimed_again_at_once(keys: IdempotencyKeys) -> None:
    claim = await keys.claim(scope="u1", key="k", fingerprint="f")
    assert isinstance(claim, Claim)
    await keys.release(claim, forget_recovery=True)
    again = await keys.claim(scope="u1", key="k", fingerprint="f")
    assert isinstance(again, Claim) and again.recovery_point is None


async def test_keys_are_kept_24_hours_then_forgotten(keys: IdempotencyKeys) -> None:
    claim = await keys.claim(scope="u1", key="k", fingerprint="f")
    assert isinstance(claim, Claim)
    async with keys.db.transaction() as session:
        await keys.complete(session, claim, status=201, body={"id": "c1"})
    clock_of(keys).now += timedelta(hours=23, minutes=59)
    assert isinstance(await keys.claim(scope="u1", key="k", fingerprint="f"), StoredResponse)
    clock_of(keys).now += timedelta(minutes=2)
    assert await keys.purge_expired() == 1
    assert isinstance(await keys.claim(scope="u1", key="k", fingerprint="new"), Claim)


async def test_concurrent_claims_of_one_key_let_exactly_one_through(
    keys: IdempotencyKeys,
) -> None:
    async def attempt() -> str:
        try:
            result = await keys.claim(scope="u1", key="race", fingerprint="f")
        except Problem as problem:
            return problem.code
        return "claimed" if isinstance(result, Claim) else "replayed"

    outcomes = await asyncio.gather(*(attempt() for _ in range(12)))
    assert outcomes.count("claimed") == 1
    assert set(outcomes) <= {"claimed", "idempotency_in_flight"}


async def test_concurrent_takeovers_after_expiry_let_exactly_one_through(
    keys: IdempotencyKeys,
) -> None:
    await keys.claim(scope="u1", key="race", fingerprint="f")
    clock_of(keys).now += timedelta(minutes=5)

    async def attempt() -> bool:
        try:
            return isinstance(await keys.claim(scope="u1", key="race", fingerprint="f"), Claim)
        except Problem:
            return False

    assert sum(await asyncio.gather(*(attempt() for _ in range(8)))) == 1


def test_keep_time_below_24_hours_is_refused() -> None:
    with pytest.raises(ValueError, match="24"):
        IdempotencyKeys(None, None, keep_hours=23)  # type: ignore[arg-type]


def test_fingerprint_ignores_key_order_and_whitespace_but_not_content() -> None:
    a = fingerprint("POST", "/api/v1/checkouts", b'{"pack_id": "p", "provider": "sandbox"}')
    b = fingerprint("post", "/api/v1/checkouts", b'{"provider":"sandbox","pack_id":"p"}')
    assert a == b
    assert a != fingerprint("POST", "/api/v1/checkouts", b'{"pack_id":"q","provider":"sandbox"}')
    assert a != fingerprint("POST", "/api/v1/other", b'{"pack_id":"p","provider":"sandbox"}')
    assert a != fingerprint("PUT", "/api/v1/checkouts", b'{"pack_id":"p","provider":"sandbox"}')
    assert fingerprint("POST", "/x", b"not json") != fingerprint("POST", "/x", b"not json!")


@given(
    st.text(
        alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=255
    )
)
def test_printable_keys_up_to_255_characters_are_valid(key: str) -> None:
    assert valid_key(key)


@pytest.mark.parametrize("key", ["", " lead", "trail ", "x" * 256, "tab\tkey", "ключ", "nul\x00"])
def test_empty_long_or_unprintable_keys_are_invalid(key: str) -> None:
    assert not valid_key(key)


# --- a short lock, renewed while the claimant lives; releases that survive an outage ----------


async def _locked_until(keys: IdempotencyKeys, key: str) -> datetime:
    async with keys.db.transaction() as session:
        value = await session.scalar(
            select(keys.table.c.locked_until).where(keys.table.c.key == key)
        )
    assert value is not None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def test_a_working_claimant_keeps_its_key_past_the_lock_period(db: Database) -> None:
    metadata = MetaData()
    table = idempotency_table(metadata)
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    clock = Clock()
    keys = IdempotencyKeys(db, table, lock_seconds=3, clock=clock)
    try:
        await keys.claim(scope="u1", key="k", fingerprint="f")
        first = await _locked_until(keys, "k")
        clock.now += timedelta(seconds=2)

        async def renewed() -> bool:
            return await _locked_until(keys, "k") > first

        await wait_until(renewed, within=10)
        clock.now += timedelta(seconds=2)  # past the first lock, within the renewed one
        with pytest.raises(Problem) as refused:
            await keys.claim(scope="u1", key="k", fingerprint="f")
        assert refused.value.code == "idempotency_in_flight"
    finally:
        await keys.close()


async def test_a_dead_claimants_key_is_free_one_lock_period_later(db: Database) -> None:
    metadata = MetaData()
    table = idempotency_table(metadata)
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    clock = Clock()
    keys = IdempotencyKeys(db, table, lock_seconds=3, clock=clock)
    await keys.claim(scope="u1", key="k", fingerprint="f")
    await keys.close()  # the process died: nobody renews the lock any more
    clock.now += timedelta(seconds=4)
    other = IdempotencyKeys(db, table, lock_seconds=3, clock=clock)
    try:
        assert isinstance(await other.claim(scope="u1", key="k", fingerprint="f"), Claim)
    finally:
        await other.close()


@pytest.mark.distributed
async def test_a_release_during_a_database_outage_lands_when_the_database_is_back() -> None:
    cluster = PostgresCluster()
    cluster.init()
    db = Database(cluster.url("postgres"))
    metadata = MetaData()
    table = idempotency_table(metadata)
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    # The business clock stands still: only the release can free the key, not the lock's end.
    keys = IdempotencyKeys(db, table, lock_seconds=60, clock=Clock())
    try:
        claim = await keys.claim(scope="u1", key="k", fingerprint="f")
        assert isinstance(claim, Claim)
        cluster.stop()
        await keys.release(claim)  # does not raise; retried in the background
        assert keys._releases
        with pytest.raises(Exception) as down:
            await keys.claim(scope="u1", key="k", fingerprint="f")
        assert dependency_of(down.value) == "database"
        cluster.start()
        await asyncio.wait_for(keys.settle(), timeout=30)
        again = await keys.claim(scope="u1", key="k", fingerprint="f")
        assert isinstance(again, Claim)
    finally:
        await keys.close()
        await db.dispose()
        cluster.destroy()


# --- the one dependency for the header -------------------------------------------------------


Key = Annotated[str, Depends(idempotency_key())]
ShortOptionalKey = Annotated[str | None, Depends(idempotency_key(required=False, max_length=8))]


@pytest.fixture
async def header_app() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/required")
    async def required(key: Key) -> dict[str, str]:
        return {"key": key}

    @app.post("/optional")
    async def optional(key: ShortOptionalKey) -> dict[str, str | None]:
        return {"key": key}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


async def test_the_idempotency_dependency_answers_each_bad_key_one_way(
    header_app: httpx.AsyncClient,
) -> None:
    ok = await header_app.post("/required", headers={"Idempotency-Key": "abc-1"})
    assert ok.json() == {"key": "abc-1"}
    missing = await header_app.post("/required")
    assert (missing.status_code, missing.json()["code"]) == (400, "idempotency_key_required")
    for bad in (" lead", "x" * 256, "ключ".encode(), "tab\tkey"):
        invalid = await header_app.post("/required", headers={"Idempotency-Key": bad})
        assert (invalid.status_code, invalid.json()["code"]) == (400, "idempotency_key_invalid")
    assert (await header_app.post("/optional")).json() == {"key": None}
    too_long = await header_app.post("/optional", headers={"Idempotency-Key": "123456789"})
    assert (too_long.status_code, too_long.json()["code"]) == (400, "idempotency_key_invalid")
    schema = header_app.app.openapi()  # type: ignore[attr-defined]
    parameters = schema["paths"]["/required"]["post"]["parameters"]
    assert [(p["name"], p["in"]) for p in parameters] == [("Idempotency-Key", "header")]
