"""Monthly statements, payout batches, the 全銀 transfer file and the yen ledger."""

from __future__ import annotations

from koepon.vtuber.context import VtuberContext
from koepon.vtuber.sales.service import Sales
from koepon.vtuber.teams.profiles import Profiles
from koepon.vtuber.teams.service import Teams


class Payouts:
    def __init__(self, ctx: VtuberContext, profiles: Profiles, teams: Teams, sales: Sales) -> None:
        self.ctx = ctx
        self.profiles = profiles
        self.teams = teams
        self.sales = sales
