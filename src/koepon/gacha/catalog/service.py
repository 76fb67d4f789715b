"""The catalogue's use cases (INTERFACE STUB: the catalogue helper replaces the bodies).

What the draw saga relies on is fixed here: ``live``, ``in_force``, ``version_config``,
``take_from_box``, ``set_box_remaining``, ``return_to_box``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.gacha.context import GachaContext
from koepon.gacha.odds.model import GachaConfig


@dataclass(frozen=True)
class LiveGacha:
    """A gacha fans can draw now: the odds version in force and its frozen configuration."""

    gacha_id: str
    vtuber_id: str
    title: str
    version: int
    config: GachaConfig


class Catalog:
    def __init__(self, ctx: GachaContext) -> None:
        self.ctx = ctx

    async def live(self, gacha_id: str) -> LiveGacha:
        """The gacha as fans can draw it now (cached). Raises ``GachaNotFound`` (404) for an
        unknown or unpublished id and ``GachaNotLive`` (409 ``gacha_not_live``) outside its
        period or once ended."""
        raise NotImplementedError

    async def in_force(self, session: AsyncSession, gacha_id: str) -> LiveGacha:
        """Like ``live`` but read in ``session`` (the saga's transaction), never cached."""
        raise NotImplementedError

    async def version_config(
        self, session: AsyncSession, gacha_id: str, version: int
    ) -> GachaConfig:
        """A published version's configuration (immutable, so cached forever)."""
        raise NotImplementedError

    async def take_from_box(self, session: AsyncSession, gacha_id: str) -> dict[str, int]:
        """The box's remaining counts in published order, rows locked (``FOR UPDATE``) until
        ``session`` ends: concurrent draws of one box take turns here."""
        raise NotImplementedError

    async def set_box_remaining(
        self, session: AsyncSession, gacha_id: str, remaining: Mapping[str, int]
    ) -> None:
        """Write what is left after a draw (rows locked by ``take_from_box``); drops the cached
        live stock."""
        raise NotImplementedError

    async def return_to_box(
        self, session: AsyncSession, gacha_id: str, item_ids: Sequence[str]
    ) -> None:
        """Put items back (a drawn box draw whose payment was released)."""
        raise NotImplementedError
