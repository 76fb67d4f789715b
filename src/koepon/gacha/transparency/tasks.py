"""Draw-log background work (INTERFACE STUB: the draw-log helper replaces it): sequencing
submitted records into the tree and publishing signed checkpoints."""

from __future__ import annotations

import asyncio

from koepon.gacha.transparency.service import DrawLog


class LogPublisher:
    def __init__(self, log: DrawLog) -> None:
        self.log = log

    async def run_forever(self) -> None:
        await asyncio.Event().wait()
