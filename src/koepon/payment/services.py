"""The typed, frozen set of the payment service's services (built by ``unit.py``)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from koepon.kernel.idempotency import IdempotencyKeys
from koepon.payment.checkout.service import Checkouts
from koepon.payment.checkout.tasks import PaymentRecovery
from koepon.payment.ledger.service import Ledger
from koepon.payment.packs.service import MedalPacks
from koepon.payment.providers.breaker import GuardedProvider
from koepon.payment.providers.sandbox import SandboxProvider
from koepon.payment.receipts.service import Receipts
from koepon.payment.reports.service import PrepaidReports
from koepon.payment.wallet.service import MonthPurchases, WalletService
from koepon.payment.wallet.spending import Spending
from koepon.payment.wallet.tasks import WalletSweeper
from koepon.payment.wallet.views import WalletViews
from koepon.payment.webhooks.service import Webhooks

Job = Callable[[], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class PaymentServices:
    """Every service of the payment service, built once (typed; no look-up by name)."""

    ledger: Ledger
    wallets: WalletService
    spending: Spending
    wallet_views: WalletViews
    wallet_sweeper: WalletSweeper
    reports: PrepaidReports
    packs: MedalPacks
    providers: dict[str, GuardedProvider]
    sandbox: SandboxProvider | None
    idempotency_keys: IdempotencyKeys
    checkouts: Checkouts
    payment_recovery: PaymentRecovery
    webhooks: Webhooks
    receipts: Receipts
    month_purchases: MonthPurchases
    on_shutdown: list[Job] = field(default_factory=list)
