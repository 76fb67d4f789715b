"""Whether a token's session is live, as the gateway checks it: the cache's copy first, the
owner of sessions (the auth service) on a miss, once per session however many requests wait.

The cache is a copy: after Redis loses its data every live session is a miss. Refusing those
would sign every fan out at once (and send them all through argon2 together), so a miss asks
the auth service, whose database is the record and who copies a live session back into the
cache as it answers. An ended session stays ended, so a "no" is remembered here for a short
while: a client retrying a dead token does not reach auth on every request.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable

import structlog

from koepon.contracts.auth import SessionRecords
from koepon.kernel.cache import Cache
from koepon.kernel.tokens import session_key

log = structlog.get_logger(__name__)

ENDED_SECONDS = 30.0
ENDED_MAX = 10_000


class SessionCheckUnavailable(Exception):
    """The check could not be made (the cache or the auth service is unreachable)."""

    def __init__(self, dependency: str) -> None:
        super().__init__(f"{dependency} unavailable")
        self.dependency = dependency


class LiveSessions:
    def __init__(
        self,
        cache: Cache,
        owner: SessionRecords | None,
        *,
        ended_seconds: float = ENDED_SECONDS,
        ended_max: int = ENDED_MAX,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cache = cache
        self.owner = owner
        self.ended_seconds = ended_seconds
        self.ended_max = ended_max
        self.clock = clock
        self._ended: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._asking: dict[tuple[str, str], asyncio.Future[bool]] = {}

    async def alive(self, session_id: str, user_id: str) -> bool:
        try:
            value = await self.cache.get(session_key(session_id))
        except Exception as exc:
            log.warning("gateway.sessions_unavailable", error=repr(exc))
            raise SessionCheckUnavailable("cache") from exc
        if value is not None:
            return value.decode() == user_id
        if self.owner is None:
            return False
        key = (session_id, user_id)
        if self._known_ended(key):
            return False
        asking = self._asking.get(key)
        if asking is None:
            asking = asyncio.ensure_future(self._ask(key))
            self._asking[key] = asking
            asking.add_done_callback(lambda done: self._settled(key, done))
        try:
            # Shielded: one waiter going away must not cancel the answer the others wait for.
            return await asyncio.shield(asking)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise SessionCheckUnavailable("auth") from exc

    async def _ask(self, key: tuple[str, str]) -> bool:
        assert self.owner is not None
        try:
            alive = await self.owner.session_alive(*key)
        except Exception as exc:
            log.warning("gateway.session_owner_unavailable", error=repr(exc))
            raise
        if not alive:
            self._remember_ended(key)
        return alive

    def _settled(self, key: tuple[str, str], done: asyncio.Future[bool]) -> None:
        self._asking.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved even when every waiter has gone away

    def _known_ended(self, key: tuple[str, str]) -> bool:
        until = self._ended.get(key)
        if until is None:
            return False
        if until > self.clock():
            return True
        del self._ended[key]
        return False

    def _remember_ended(self, key: tuple[str, str]) -> None:
        self._ended[key] = self.clock() + self.ended_seconds
        self._ended.move_to_end(key)
        while len(self._ended) > self.ended_max:
            self._ended.popitem(last=False)
