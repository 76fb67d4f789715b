"""The catalogue's cache entries (kernel cache: memory embedded, Redis distributed).

Entries are JSON. A cache that cannot be reached is a miss (the database answers), never an
error for a fan: the catalogue is read on every draw and every gacha page.
"""

from __future__ import annotations

import json
from typing import Any

import structlog
from redis import exceptions as redis_errors

from koepon.kernel.cache import Cache

log = structlog.get_logger(__name__)

_OUTAGE = (ConnectionError, TimeoutError, OSError, redis_errors.RedisError)
PREFIX = "gacha:catalog:"


def gacha_key(gacha_id: str) -> str:
    """The gacha's header and its versions' schedule (what ``live`` and the public read)."""
    return f"{PREFIX}{gacha_id}"


def odds_key(gacha_id: str, version: int) -> str:
    """One weighted version's disclosed odds (immutable, still bounded by the TTL)."""
    return f"{PREFIX}{gacha_id}:odds:{version}"


class CatalogCache:
    def __init__(self, cache: Cache, ttl_seconds: int) -> None:
        self.cache = cache
        self.ttl_seconds = ttl_seconds

    async def get(self, key: str) -> Any | None:
        try:
            raw = await self.cache.get(key)
        except _OUTAGE as exc:
            log.warning("catalog.cache_unavailable", op="get", error_type=type(exc).__name__)
            return None
        return None if raw is None else json.loads(raw)

    async def put(self, key: str, value: Any) -> None:
        data = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
        try:
            await self.cache.set(key, data, ttl_seconds=self.ttl_seconds)
        except _OUTAGE as exc:
            log.warning("catalog.cache_unavailable", op="set", error_type=type(exc).__name__)

    async def drop(self, *keys: str) -> None:
        """Forget entries at once (a missed drop is bounded by the TTL)."""
        try:
            await self.cache.delete(*keys)
        except _OUTAGE as exc:
            log.warning("catalog.cache_unavailable", op="delete", error_type=type(exc).__name__)
