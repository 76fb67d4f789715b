"""What every part of the gacha service is built with: adapters, settings, clients, the clock.

It holds no services: ``unit.py`` builds those and hands them to routers through FastAPI
dependencies (``provide``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from koepon.contracts.auth import AuthAccounts
from koepon.contracts.clients import Clients
from koepon.contracts.payment import MedalWallets
from koepon.contracts.rewards import RewardsContents
from koepon.gacha.settings import GachaSettings
from koepon.kernel.cache import Cache
from koepon.kernel.clock import Clock
from koepon.kernel.db import Database
from koepon.kernel.inbox import Inbox
from koepon.kernel.outbox import Outbox
from koepon.kernel.settings import Settings
from koepon.kernel.tokens import Authenticator

T = TypeVar("T")


@dataclass(frozen=True)
class GachaContext:
    """The gacha service's adapters, built once by ``unit.build``. ``clock`` is the one "now"
    (tests point it at a movable clock with ``ctx.clock.use(...)``)."""

    settings: Settings
    gacha_settings: GachaSettings
    db: Database
    outbox: Outbox
    inbox: Inbox
    cache: Cache
    authenticator: Authenticator
    clients: Clients
    clock: Clock = field(default_factory=Clock)

    def now(self) -> datetime:
        return self.clock()

    @property
    def payment(self) -> MedalWallets:
        """The payment service's client; its absence is a deployment error."""
        if self.clients.payment is None:
            raise RuntimeError(
                "The gacha service needs the payment service: set KOEPON_SERVICE_URLS"
            )
        return self.clients.payment

    @property
    def rewards(self) -> RewardsContents:
        """The rewards service's client; its absence is a deployment error."""
        if self.clients.rewards is None:
            raise RuntimeError(
                "The gacha service needs the rewards service: set KOEPON_SERVICE_URLS"
            )
        return self.clients.rewards

    @property
    def auth(self) -> AuthAccounts:
        """The auth service's client; its absence is a deployment error."""
        if self.clients.auth is None:
            raise RuntimeError("The gacha service needs the auth service: set KOEPON_SERVICE_URLS")
        return self.clients.auth


def provide(service: T) -> Callable[[], Awaitable[T]]:
    """A FastAPI dependency handing routes a service built by ``unit.py`` (async on purpose:
    a plain ``def`` dependency would cost two thread hops per request)."""

    async def dependency() -> T:
        return service

    return dependency
