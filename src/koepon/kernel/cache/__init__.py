"""Key-value cache port with TTLs: in-memory (embedded) or Redis (distributed)."""

from __future__ import annotations

from typing import Protocol

from koepon.kernel.cache.memory import MemoryCache
from koepon.kernel.cache.redis import RedisCache


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, ttl_seconds: int | None = None) -> None: ...
    async def delete(self, *keys: str) -> None: ...
    async def incr(self, key: str, ttl_seconds: int) -> int: ...
    async def ping(self) -> bool: ...
    async def close(self) -> None: ...


def cache_from_url(url: str | None) -> Cache:
    return RedisCache(url) if url else MemoryCache()


__all__ = ["Cache", "MemoryCache", "RedisCache", "cache_from_url"]
