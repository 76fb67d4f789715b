"""Sales facts from the gacha's events, and the sales report per gacha and day."""

from __future__ import annotations

from koepon.kernel.bus import Message
from koepon.vtuber.context import VtuberContext
from koepon.vtuber.gachas.service import GachaCopies
from koepon.vtuber.teams.service import Teams

CONSUMER = "vtuber.sales"
TOPICS = ("gacha.draw.completed.v1", "gacha.draw.reversed.v1")


class Sales:
    def __init__(self, ctx: VtuberContext, teams: Teams, gachas: GachaCopies) -> None:
        self.ctx = ctx
        self.teams = teams
        self.gachas = gachas

    async def handle(self, message: Message) -> None:
        raise NotImplementedError
