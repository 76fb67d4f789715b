"""What every part of the payment service is built with: adapters, settings, clock, services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from koepon.contracts.clients import Clients
from koepon.kernel.cache import Cache
from koepon.kernel.db import Database
from koepon.kernel.inbox import Inbox
from koepon.kernel.outbox import Outbox
from koepon.kernel.settings import Settings
from koepon.kernel.tokens import Authenticator

if TYPE_CHECKING:
    from koepon.payment.ledger.service import Ledger
    from koepon.payment.reports.service import PrepaidReports
    from koepon.payment.wallet.service import WalletService


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class PaymentContext:
    """The payment service's dependencies, built once by ``unit.build``.

    Sub-domains (checkout, providers, webhooks…) take this and reach the wallet through
    ``ctx.wallets`` (issue lots, claw back) inside their own transaction. ``clock`` is the one
    source of "now" (tests replace it to move time).
    """

    settings: Settings
    db: Database
    outbox: Outbox
    inbox: Inbox
    cache: Cache
    authenticator: Authenticator
    clients: Clients
    clock: Callable[[], datetime] = utcnow
    ledger: Ledger = field(init=False)
    wallets: WalletService = field(init=False)
    reports: PrepaidReports = field(init=False)
    # Other sub-domains' services (e.g. "checkouts") by name, set by unit.build.
    services: dict[str, Any] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.clock()
