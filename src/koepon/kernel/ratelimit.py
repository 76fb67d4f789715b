"""Rate limits (sliding window counter) on the ``limits`` library: memory embedded, Redis
distributed.

The sliding window counter keeps two counters per key (this window and the last, weighted by
how much of it still overlaps the moving window), so a hit costs the same whatever the limit.
The exact moving window would keep one timestamp per allowed hit: a raised per-IP limit then
made every request copy a list of hundreds of thousands of entries, and the memory storage swept
every list through a thread after each hit (issue 7's benchmark). The counter may admit a hit or
two more than the limit right after a window turns over, which a rate limit can afford.

On Redis the limiter shares the cache's kind of pool: bounded, and a burst *waits* for a free
connection. The client's default pool raised ``MaxConnectionsError`` from the 101st concurrent
hit, and the gateway lets requests through when the limiter fails (an outage must not take the
platform down), so 512 concurrent requests switched every rate limit off.
"""

from __future__ import annotations

import math
import time
from functools import lru_cache

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from koepon.kernel.cache.redis import (
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_POOL_TIMEOUT_SECONDS,
    DEFAULT_SOCKET_TIMEOUT_SECONDS,
    redis_pool,
)
from koepon.kernel.settings import Settings


@lru_cache(maxsize=256)
def _item(limit: str) -> RateLimitItem:
    """The parsed limit: the same few strings come with every request."""
    return parse(limit)


class RateLimiter:
    def __init__(
        self,
        redis_url: str | None = None,
        *,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        pool_timeout_seconds: float = DEFAULT_POOL_TIMEOUT_SECONDS,
        socket_timeout_seconds: float = DEFAULT_SOCKET_TIMEOUT_SECONDS,
    ) -> None:
        # redis-py, the client the cache uses too: per hit it costs a third of the default
        # (coredis) bridge's CPU, which was the largest cost of a cached public read.
        self.storage: Storage = (
            RedisStorage(
                redis_url.replace("redis://", "async+redis://", 1),
                implementation="redispy",
                # Documented by ``limits`` (its annotation says only float | str | bool).
                connection_pool=redis_pool(  # type: ignore[arg-type]
                    redis_url,
                    max_connections=max_connections,
                    pool_timeout_seconds=pool_timeout_seconds,
                    socket_timeout_seconds=socket_timeout_seconds,
                ),
            )
            if redis_url
            else MemoryStorage()
        )
        self.strategy = SlidingWindowCounterRateLimiter(self.storage)

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        """Redis when the settings name one (with their pool limits), memory otherwise."""
        return cls(
            settings.redis_url,
            max_connections=settings.redis_max_connections,
            pool_timeout_seconds=settings.redis_pool_timeout_seconds,
            socket_timeout_seconds=settings.redis_socket_timeout_seconds,
        )

    async def hit(self, limit: str | RateLimitItem, *key: str) -> tuple[bool, int]:
        """Count one hit; returns (allowed, seconds until the next hit is allowed)."""
        item = _item(limit) if isinstance(limit, str) else limit
        if await self.strategy.hit(item, *key):
            return True, 0
        stats = await self.strategy.get_window_stats(item, *key)
        return False, max(1, math.ceil(stats.reset_time - time.time()))

    async def test(self, limit: str, *key: str) -> bool:
        return await self.strategy.test(_item(limit), *key)

    async def clear(self, limit: str, *key: str) -> None:
        await self.strategy.clear(_item(limit), *key)
