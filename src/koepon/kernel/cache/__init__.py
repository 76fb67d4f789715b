"""Key-value cache port with TTLs: in-memory (embedded) or Redis (distributed)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from koepon.kernel.cache.memory import MemoryCache
from koepon.kernel.cache.redis import RedisCache

if TYPE_CHECKING:
    from koepon.kernel.settings import Settings


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, ttl_seconds: int | None = None) -> None: ...
    async def delete(self, *keys: str) -> None: ...
    async def incr(self, key: str, ttl_seconds: int) -> int: ...
    async def ping(self) -> bool: ...
    async def close(self) -> None: ...


def cache_from_url(url: str | None) -> Cache:
    return RedisCache(url) if url else MemoryCache()


def cache_from_settings(settings: Settings) -> Cache:
    """The configured cache, its Redis pool sized and bounded by the settings."""
    if not settings.redis_url:
        return MemoryCache()
    return RedisCache(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        pool_timeout_seconds=settings.redis_pool_timeout_seconds,
        socket_timeout_seconds=settings.redis_socket_timeout_seconds,
    )


__all__ = ["Cache", "MemoryCache", "RedisCache", "cache_from_settings", "cache_from_url"]
