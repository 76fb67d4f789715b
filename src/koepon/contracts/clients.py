"""The typed clients one service may hold of another (in-process or HTTP implementations)."""

from __future__ import annotations

from dataclasses import dataclass

from koepon.contracts.auth import AuthAccounts
from koepon.contracts.payment import MedalWallets
from koepon.contracts.rewards import RewardsContents
from koepon.contracts.vtuber import VtuberTeams


@dataclass
class Clients:
    """Filled by the composition root (a service not in this process and not reachable over HTTP
    stays None); a service takes only what it needs."""

    auth: AuthAccounts | None = None
    payment: MedalWallets | None = None
    rewards: RewardsContents | None = None
    vtuber: VtuberTeams | None = None
