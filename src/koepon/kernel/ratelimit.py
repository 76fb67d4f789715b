"""Rate limits (moving window) on the ``limits`` library: memory embedded, Redis distributed."""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter


class RateLimiter:
    def __init__(self, redis_url: str | None = None) -> None:
        self.storage: Storage = (
            RedisStorage(redis_url.replace("redis://", "async+redis://", 1))
            if redis_url
            else MemoryStorage()
        )
        self.strategy = MovingWindowRateLimiter(self.storage)

    async def hit(self, limit: str | RateLimitItem, *key: str) -> tuple[bool, int]:
        """Count one hit; returns (allowed, seconds until the next hit is allowed)."""
        item = parse(limit) if isinstance(limit, str) else limit
        if await self.strategy.hit(item, *key):
            return True, 0
        stats = await self.strategy.get_window_stats(item, *key)
        return False, max(1, math.ceil(stats.reset_time - time.time()))

    async def test(self, limit: str, *key: str) -> bool:
        return await self.strategy.test(parse(limit), *key)

    async def clear(self, limit: str, *key: str) -> None:
        await self.strategy.clear(parse(limit), *key)
