"""Rate limits (sliding window counter) in memory and on Redis: hits counted, Retry-After given."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from limits.aio.storage import MemoryStorage

from koepon.kernel.ratelimit import RateLimiter

from .conftest import REDIS_URL


@pytest.fixture
def limiter(backend: str) -> RateLimiter:
    return RateLimiter(REDIS_URL if backend == "distributed" else None)


async def test_hits_beyond_the_limit_are_refused_with_retry_after(limiter: RateLimiter) -> None:
    key = uuid.uuid4().hex
    assert [await limiter.hit("3/minute", "ip", key) for _ in range(3)] == [(True, 0)] * 3
    allowed, retry_after = await limiter.hit("3/minute", "ip", key)
    assert not allowed
    assert 1 <= retry_after <= 60
    # Other keys have their own budget.
    assert await limiter.hit("3/minute", "ip", key + "-other") == (True, 0)
    assert await limiter.hit("3/minute", "user", key) == (True, 0)


async def test_window_moves_on(limiter: RateLimiter) -> None:
    key = uuid.uuid4().hex
    assert (await limiter.hit("2/second", key))[0]
    assert (await limiter.hit("2/second", key))[0]
    allowed, retry_after = await limiter.hit("2/second", key)
    assert not allowed and retry_after == 1
    await asyncio.sleep(1.05)
    assert (await limiter.hit("2/second", key))[0]


async def test_test_and_clear(limiter: RateLimiter) -> None:
    key = uuid.uuid4().hex
    await limiter.hit("1/minute", key)
    assert not await limiter.test("1/minute", key)
    await limiter.clear("1/minute", key)
    assert await limiter.test("1/minute", key)


async def test_a_raised_limit_costs_two_counters_not_one_entry_per_hit() -> None:
    """Issue 7: the moving window kept a timestamp per hit, so a raised per-IP limit made every
    request copy a list as long as the traffic of the last minute."""
    limiter = RateLimiter()
    key = uuid.uuid4().hex
    for _ in range(2_000):
        assert (await limiter.hit("1000000/minute", "ip", key))[0]
    storage = limiter.storage
    assert isinstance(storage, MemoryStorage)
    assert not storage.events
    assert len([k for k in storage.storage if key in k]) <= 2


async def test_a_burst_beyond_the_pool_waits_for_connections_and_counts_every_hit(
    limiter: RateLimiter,
) -> None:
    """512 hits at once on a pool of 64 Redis connections: every hit waits its turn and is
    counted (exactly the limit allowed), none fails — a failing limiter lets requests through,
    so a burst used to switch the limits off (the client's default pool refused the 101st)."""
    key = uuid.uuid4().hex
    results = await asyncio.gather(
        *(limiter.hit("100/minute", "ip", key) for _ in range(512)), return_exceptions=True
    )
    failed = [r for r in results if isinstance(r, BaseException)]
    assert not failed, failed[:3]
    assert sum(1 for r in results if isinstance(r, tuple) and r[0]) == 100
