"""Sign-in sessions: kept in the auth database, mirrored in the cache (Redis when distributed).

A session is one refresh-token family; its id is the ``sid`` claim of every access token issued
in it. The database is the record (a session lives while its newest refresh token is unspent,
unrevoked and unexpired), so a restart of the embedded default, whose cache is in memory,
signs nobody out: ``restore`` copies the live sessions back into the cache at start-up, and
``alive`` falls back to the database on a cache miss. The cache copy is what the gateway reads
to refuse tokens of ended sessions at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from koepon.auth import repository
from koepon.kernel.cache import Cache
from koepon.kernel.clock import as_utc
from koepon.kernel.db import Database
from koepon.kernel.tokens import SESSION_KEY_PREFIX as PREFIX

log = structlog.get_logger(__name__)
# A copy made from the database on a miss lives at most this long: a sign-out committing at
# that moment (it deletes the copy before its commit) could be copied back as alive, and this
# bounds that below an access token's own lifetime; the next miss reads the record again.
MIRRORED_ON_MISS_SECONDS = 300


def _aware(value: datetime) -> datetime:
    return as_utc(value)  # SQLite returns naive datetimes; everything is stored in UTC


class Sessions:
    def __init__(
        self,
        cache: Cache,
        db: Database,
        *,
        ttl_seconds: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.cache = cache
        self.db = db
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self.restored = asyncio.Event()

    async def start(self, session_id: str, user_id: str) -> None:
        await self.cache.set(PREFIX + session_id, user_id.encode(), self.ttl_seconds)

    async def alive(self, session_id: str, user_id: str) -> bool:
        value = await self.cache.get(PREFIX + session_id)
        if value is not None:
            return value.decode() == user_id
        async with self.db.sessionmaker() as session:
            expires = await repository.session_alive(session, session_id, user_id, self.clock())
        if expires is None:
            return False
        try:
            await self._mirror(
                session_id, user_id, _aware(expires), at_most=MIRRORED_ON_MISS_SECONDS
            )
        except Exception as exc:
            # The record said yes: the copy is an optimisation, the next miss tries again.
            log.warning("auth.session_mirror_failed", error=repr(exc))
        return True

    async def end(self, *session_ids: str) -> None:
        if session_ids:
            await self.cache.delete(*(PREFIX + sid for sid in session_ids))

    async def _mirror(
        self, session_id: str, user_id: str, expires: datetime, *, at_most: int | None = None
    ) -> None:
        ttl = int((expires - self.clock()).total_seconds())
        if at_most is not None:
            ttl = min(ttl, at_most)
        if ttl > 0:
            await self.cache.set(PREFIX + session_id, user_id.encode(), ttl)

    async def restore(self) -> int:
        """Copy every live session into the cache; returns how many."""
        async with self.db.sessionmaker() as session:
            live = await repository.live_sessions(session, self.clock())
        for session_id, user_id, expires in live:
            await self._mirror(session_id, user_id, _aware(expires))
        self.restored.set()
        log.info("auth.sessions_restored", sessions=len(live))
        return len(live)
