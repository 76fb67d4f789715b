"""The VTuber service's copy of the gachas it earns from (from ``gacha.catalog.changed.v1``)."""

from __future__ import annotations

from koepon.kernel.bus import Message
from koepon.vtuber.context import VtuberContext

CONSUMER = "vtuber.gachas"
TOPICS = ("gacha.catalog.changed.v1",)


class GachaCopies:
    def __init__(self, ctx: VtuberContext) -> None:
        self.ctx = ctx

    async def handle(self, message: Message) -> None:
        raise NotImplementedError  # sales helper: see docs/notes
