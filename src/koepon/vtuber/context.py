"""What every part of the VTuber service is built with: adapters, settings, clients, the clock.

It holds no services: ``unit.py`` builds those and hands them to routers through FastAPI
dependencies (``provide``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from koepon.contracts.clients import Clients
from koepon.kernel.cache import Cache
from koepon.kernel.clock import Clock
from koepon.kernel.db import Database
from koepon.kernel.inbox import Inbox
from koepon.kernel.outbox import Outbox
from koepon.kernel.ratelimit import RateLimiter
from koepon.kernel.settings import Settings
from koepon.kernel.tokens import Authenticator
from koepon.vtuber.settings import VtuberSettings

T = TypeVar("T")


@dataclass(frozen=True)
class VtuberContext:
    """The vtuber service's adapters, built once by ``unit.build``. ``clock`` is the one "now"
    (tests point it at a movable clock with ``ctx.clock.use(...)``)."""

    settings: Settings
    vtuber_settings: VtuberSettings
    db: Database
    outbox: Outbox
    inbox: Inbox
    cache: Cache
    rate_limiter: RateLimiter
    authenticator: Authenticator
    clients: Clients
    clock: Clock = field(default_factory=Clock)

    def now(self) -> datetime:
        return self.clock()


def provide(service: T) -> Callable[[], Awaitable[T]]:
    """A FastAPI dependency handing routes a service built by ``unit.py``."""

    async def dependency() -> T:
        return service

    return dependency
