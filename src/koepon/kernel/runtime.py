"""What the composition root hands to every service, and what each service hands back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from fastapi import APIRouter
from sqlalchemy import Table

from koepon.kernel.bus import Handler
from koepon.kernel.cache import Cache
from koepon.kernel.db import Database
from koepon.kernel.ratelimit import RateLimiter
from koepon.kernel.settings import Settings
from koepon.kernel.tokens import Authenticator

ReadinessCheck = Callable[[], Awaitable[bool]]
Hook = Callable[[], Coroutine[Any, Any, None]]


@dataclass
class Runtime:
    """Shared adapters chosen by configuration; business code never asks which."""

    settings: Settings
    cache: Cache
    rate_limiter: RateLimiter
    authenticator: Authenticator


@dataclass
class Consumer:
    """One idempotent event consumer of a service (queue name = consumer name)."""

    name: str
    topics: list[str]
    handler: Handler


class ServiceRoutes(NamedTuple):
    """A service's public routes and its routes for other services (internal token)."""

    public: APIRouter
    internal: APIRouter | None = None


@dataclass
class ServiceUnit:
    """A built service: its routes, database, outbox, consumers and lifecycle hooks.

    ``routes`` builds the routers when an app first asks for them: a worker, a command or a
    test that serves no HTTP does not pay for building ~250 routes."""

    name: str
    db: Database
    migrations: Path
    outbox_table: Table
    routes: Callable[[], ServiceRoutes]
    inbox_table: Table | None = None
    client: Any = None  # the in-process client other services may call (see contracts)
    consumers: list[Consumer] = field(default_factory=list)
    background: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    on_shutdown: list[Hook] = field(default_factory=list)
    _built: ServiceRoutes | None = field(default=None, init=False, repr=False, compare=False)

    def _routes(self) -> ServiceRoutes:
        if self._built is None:
            self._built = self.routes()
        return self._built

    @property
    def router(self) -> APIRouter:
        return self._routes().public

    @property
    def internal_router(self) -> APIRouter | None:
        return self._routes().internal
