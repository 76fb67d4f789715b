"""Sign-in sessions in the cache (Redis when distributed): session id → user id.

A session is one refresh-token family; its id is the ``sid`` claim of every access token issued
in it. Ending it makes ``/api/v1/me`` refuse those tokens at once.
"""

from __future__ import annotations

from koepon.kernel.cache import Cache
from koepon.kernel.tokens import SESSION_KEY_PREFIX as PREFIX


class Sessions:
    def __init__(self, cache: Cache, *, ttl_seconds: int) -> None:
        self.cache = cache
        self.ttl_seconds = ttl_seconds

    async def start(self, session_id: str, user_id: str) -> None:
        await self.cache.set(PREFIX + session_id, user_id.encode(), self.ttl_seconds)

    async def alive(self, session_id: str, user_id: str) -> bool:
        value = await self.cache.get(PREFIX + session_id)
        return value is not None and value.decode() == user_id

    async def end(self, *session_ids: str) -> None:
        if session_ids:
            await self.cache.delete(*(PREFIX + sid for sid in session_ids))
