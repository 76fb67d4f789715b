"""The typed clients one service may hold of another (in-process or HTTP implementations)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Clients:
    """Filled by the composition root; a service takes only what it needs."""

    auth: Any = None  # koepon.contracts.auth.AuthAccounts
    payment: Any = None  # koepon.contracts.payment.MedalWallets
