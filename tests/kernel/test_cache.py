"""The cache adapters: in-memory (embedded) and Redis (distributed) behave the same."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from koepon.kernel.cache import Cache, MemoryCache, RedisCache, cache_from_url
from resilience.servers import RedisServer

from .conftest import REDIS_URL


@pytest.fixture
async def cache(backend: str) -> AsyncIterator[Cache]:
    cache = cache_from_url(REDIS_URL if backend == "distributed" else None)
    assert isinstance(cache, RedisCache if backend == "distributed" else MemoryCache)
    yield cache
    await cache.close()


@pytest.fixture
def key() -> str:
    return f"koepon:ktest:{uuid.uuid4().hex}"


async def test_set_get_delete(cache: Cache, key: str) -> None:
    assert await cache.get(key) is None
    await cache.set(key, b"\x00value")
    assert await cache.get(key) == b"\x00value"
    await cache.delete(key, key + ":absent")
    assert await cache.get(key) is None
    assert await cache.ping()


async def test_values_expire_after_their_ttl(cache: Cache, key: str) -> None:
    await cache.set(key, b"v", ttl_seconds=1)
    await cache.set(key + ":kept", b"k")
    assert await cache.get(key) == b"v"
    await asyncio.sleep(1.1)
    assert await cache.get(key) is None
    assert await cache.get(key + ":kept") == b"k"
    await cache.delete(key + ":kept")


async def test_incr_counts_within_the_first_ttl(cache: Cache, key: str) -> None:
    assert [await cache.incr(key, 1) for _ in range(3)] == [1, 2, 3]
    await asyncio.sleep(1.1)  # the window started at the first hit; later hits do not extend it
    assert await cache.incr(key, 1) == 1
    await cache.delete(key)


async def test_memory_cache_stays_within_its_key_limit() -> None:
    cache = MemoryCache(max_keys=3)
    for n in range(10):
        await cache.set(f"k{n}", b"v")
    assert await cache.get("k9") == b"v"
    assert sum([await cache.get(f"k{n}") is not None for n in range(10)]) <= 3


async def test_unreachable_redis_pings_false() -> None:
    cache = RedisCache("redis://127.0.0.1:1/0")
    assert not await cache.ping()
    await cache.close()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis of this test alone, on a free port, that it may kill and restart."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.mark.distributed
async def test_a_burst_far_beyond_the_pool_waits_for_connections_instead_of_failing() -> None:
    cache = RedisCache(REDIS_URL, max_connections=8, pool_timeout_seconds=10)
    key = f"koepon:ktest:{uuid.uuid4().hex}"
    try:
        await cache.set(key, b"v", ttl_seconds=60)
        results = await asyncio.gather(
            *(cache.get(key) for _ in range(500)), return_exceptions=True
        )
        assert results == [b"v"] * 500
        opened = len(cache.pool._available_connections) + len(cache.pool._in_use_connections)
        assert opened <= 8
    finally:
        await cache.delete(key)
        await cache.close()


@pytest.mark.distributed
async def test_a_restarted_redis_costs_no_request(own_redis: RedisServer) -> None:
    cache = RedisCache(own_redis.url, max_connections=4)
    try:
        await cache.set("k", b"v")
        assert await cache.get("k") == b"v"  # the pool now holds a connection
        own_redis.kill()
        own_redis.start()
        # The pooled connection is dead; the command is retried once on a fresh one.
        assert await cache.get("k") is None  # no persistence: a restart starts empty
        await cache.set("k", b"again")
        assert await cache.get("k") == b"again"
    finally:
        await cache.close()


@pytest.mark.distributed
async def test_redis_down_fails_fast_with_a_connection_error(own_redis: RedisServer) -> None:
    cache = RedisCache(own_redis.url, socket_timeout_seconds=1)
    try:
        await cache.set("k", b"v")
        own_redis.kill()
        started = time.monotonic()
        with pytest.raises(RedisConnectionError):
            await cache.get("k")
        assert time.monotonic() - started < 5
        assert not await cache.ping()
    finally:
        await cache.close()
