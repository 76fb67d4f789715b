"""Our own Idempotency-Key: claim once, replay the stored response, 422 on a changed request,
409 while in flight, take over after a crash, forget after the keeping time."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import MetaData

from koepon.kernel.db import Database
from koepon.kernel.idempotency import (
    Claim,
    IdempotencyKeys,
    StoredResponse,
    fingerprint,
    idempotency_table,
    valid_key,
)
from koepon.kernel.problems import Problem

from .conftest import PG_ADMIN_DSN, PG_HOST


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
async def keys(db: Database) -> IdempotencyKeys:
    metadata = MetaData()
    table = idempotency_table(metadata)
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    return IdempotencyKeys(db, table, lock_seconds=30, keep_hours=24, clock=Clock())


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
