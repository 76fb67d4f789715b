"""What every part of the payment service is built with: adapters, settings, clients, the clock.

It holds no services: ``unit.py`` builds those, each taking the others it needs explicitly, and
hands them to routers through FastAPI dependencies (``provide``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from koepon.contracts.auth import AuthAccounts
from koepon.contracts.clients import Clients
from koepon.kernel.cache import Cache
from koepon.kernel.clock import Clock
from koepon.kernel.db import Database
from koepon.kernel.inbox import Inbox
from koepon.kernel.outbox import Outbox
from koepon.kernel.settings import Settings
from koepon.kernel.tokens import Authenticator
from koepon.payment.settings import PaymentSettings

T = TypeVar("T")


@dataclass(frozen=True)
class PaymentContext:
    """The payment service's adapters, built once by ``unit.build``.

    ``clock`` is the one source of "now"; tests point it at a movable clock
    (``ctx.clock.use(...)``) and every payment service sees the same time.
    """

    settings: Settings
    payment_settings: PaymentSettings
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
    def auth(self) -> AuthAccounts:
        """The auth service's client (in-process or HTTP); its absence is a deployment error."""
        if self.clients.auth is None:
            raise RuntimeError(
                "The payment service needs the auth service: set KOEPON_SERVICE_URLS"
            )
        return self.clients.auth


def provide(service: T) -> Callable[[], Awaitable[T]]:
    """A FastAPI dependency handing routes a service built by ``unit.py``.

    Routes declare ``Annotated[WalletService, Depends(provide(wallets))]``-style parameters, so
    what a route uses is typed and visible in its signature (and replaceable in a test app)."""

    # Async on purpose: FastAPI runs a plain ``def`` dependency in its thread pool, two thread
    # hops per request for a value that never changes.
    async def dependency() -> T:
        return service

    return dependency
