"""The cache adapters: in-memory (embedded) and Redis (distributed) behave the same."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from koepon.kernel.cache import Cache, MemoryCache, RedisCache, cache_from_url

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
