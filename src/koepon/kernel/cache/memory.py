"""In-memory cache for the embedded default (one process)."""

from __future__ import annotations

import time


class MemoryCache:
    def __init__(self, max_keys: int = 100_000) -> None:
        self._data: dict[str, tuple[bytes, float | None]] = {}
        self._max_keys = max_keys

    def _live(self, key: str) -> tuple[bytes, float | None] | None:
        item = self._data.get(key)
        if item and item[1] is not None and item[1] <= time.monotonic():
            del self._data[key]
            return None
        return item

    async def get(self, key: str) -> bytes | None:
        item = self._live(key)
        return item[0] if item else None

    async def set(self, key: str, value: bytes, ttl_seconds: int | None = None) -> None:
        if len(self._data) >= self._max_keys:
            self._evict()
        expires = time.monotonic() + ttl_seconds if ttl_seconds else None
        self._data[key] = (value, expires)

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._data.pop(key, None)

    async def incr(self, key: str, ttl_seconds: int) -> int:
        item = self._live(key)
        value = int(item[0]) + 1 if item else 1
        expires = item[1] if item else time.monotonic() + ttl_seconds
        self._data[key] = (str(value).encode(), expires)
        return value

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._data.clear()

    def _evict(self) -> None:
        now = time.monotonic()
        for key in [k for k, (_, exp) in self._data.items() if exp is not None and exp <= now]:
            del self._data[key]
        while len(self._data) >= self._max_keys:
            self._data.pop(next(iter(self._data)))
