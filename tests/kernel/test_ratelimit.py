"""Rate limits (moving window) in memory and on Redis: hits counted, Retry-After given."""

from __future__ import annotations

import asyncio
import uuid

import pytest

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
