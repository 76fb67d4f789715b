"""The browser's sign-in: an opaque cookie naming a web session kept in the platform's cache.

The page never holds a token: the access and refresh tokens the auth API issued stay on the
server, in the cache (Redis in the distributed mode, shared by every gateway process), under a
random id that the ``HttpOnly`` cookie carries. Each session has its own CSRF token. A session
ends when the fan signs out, when its refresh token is refused, or after ``IDLE_SECONDS``
without a visit.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from dataclasses import asdict, dataclass, field

from koepon.kernel.cache import Cache

SESSION_COOKIE = "koepon_session"
IDLE_SECONDS = 14 * 24 * 3600
_KEY = "web:session:"
_SID = re.compile(r"^[A-Za-z0-9_-]{40,64}$")


@dataclass
class WebSession:
    sid: str
    user_id: str
    access_token: str
    access_expires_at: float
    refresh_token: str
    display_name: str
    roles: list[str]
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @property
    def operator(self) -> bool:
        return bool({"admin", "compliance", "support"} & set(self.roles))


class WebSessions:
    def __init__(self, cache: Cache, *, idle_seconds: int = IDLE_SECONDS) -> None:
        self.cache = cache
        self.idle_seconds = idle_seconds
        # One refresh at a time per session in this process: the auth service treats a refresh
        # token used twice as stolen and ends its whole family.
        self._refreshing: dict[str, asyncio.Lock] = {}

    async def open(
        self,
        *,
        user_id: str,
        access_token: str,
        expires_in: int,
        refresh_token: str,
        display_name: str,
        roles: list[str],
    ) -> WebSession:
        session = WebSession(
            sid=secrets.token_urlsafe(32),
            user_id=user_id,
            access_token=access_token,
            access_expires_at=time.time() + expires_in,
            refresh_token=refresh_token,
            display_name=display_name,
            roles=roles,
        )
        await self.save(session)
        return session

    async def find(self, sid: str | None) -> WebSession | None:
        if not sid or not _SID.match(sid):
            return None
        raw = await self.cache.get(_KEY + sid)
        if raw is None:
            return None
        try:
            return WebSession(**json.loads(raw))
        except (ValueError, TypeError):
            return None

    async def save(self, session: WebSession) -> None:
        data = json.dumps(asdict(session)).encode()
        await self.cache.set(_KEY + session.sid, data, ttl_seconds=self.idle_seconds)

    async def close(self, session: WebSession) -> None:
        await self.cache.delete(_KEY + session.sid)

    def refresh_lock(self, sid: str) -> asyncio.Lock:
        if len(self._refreshing) > 10_000:
            self._refreshing = {k: v for k, v in self._refreshing.items() if v.locked()}
        return self._refreshing.setdefault(sid, asyncio.Lock())
