"""The public draw log (INTERFACE STUB: the draw-log helper replaces the bodies).

What the draw saga relies on is fixed here: ``submit``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.gacha.context import GachaContext


class DrawLog:
    def __init__(self, ctx: GachaContext) -> None:
        self.ctx = ctx

    async def submit(self, session: AsyncSession, draw_id: str, record: Mapping[str, Any]) -> None:
        """Queue a completed draw's record (``transparency.leaf.draw_record``) for the log, in
        the transaction that completes the draw. Submitting the same draw twice is a no-op."""
        raise NotImplementedError
