"""The catalogue as the draw saga and every other reader needs it: which gachas are live and
which odds version is in force (cached), immutable configurations, and box stock.

The use cases that change the catalogue are split by who runs them: ``authoring.py`` (the
VTuber's team: drafts), ``reviews.py`` (operators: approve, reject, new odds versions, end),
``public.py`` (the public catalogue and its disclosure, G6 and G7).

Caching: each gacha's header and its versions' schedule (effective times and periods) is one
entry, so "live" and "which version" are decided at every read against ``ctx.now()`` — a
cached gacha stops being live the instant its period ends, and an announced version takes over
the instant it becomes effective. A published configuration never changes, so it is kept in
memory for good. Operators' steps that change what the public sees (approve, new version, end)
run in their own transaction and drop the entries (``forget``) once it has committed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.gacha.catalog import repository
from koepon.gacha.catalog.cache import CatalogCache, gacha_key, odds_key
from koepon.gacha.catalog.policy import PUBLISHED, GachaStatus
from koepon.gacha.catalog.views import (
    Header,
    Scheduled,
    header_of,
)
from koepon.gacha.context import GachaContext
from koepon.gacha.errors import (
    GachaNotFound,
    GachaNotLive,
    OddsVersionNotFound,
)
from koepon.gacha.odds.model import GachaConfig, is_live

MAX_REMEMBERED_CONFIGS = 4096


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
        self.cache = CatalogCache(ctx.cache, ctx.gacha_settings.catalog_cache_seconds)
        self._configs: dict[tuple[str, int], GachaConfig] = {}

    # --- the draw saga's interface ---------------------------------------------------------

    async def live(self, gacha_id: str) -> LiveGacha:
        """The gacha as fans can draw it now (cached). Raises ``GachaNotFound`` (404) for an
        unknown or unpublished id and ``GachaNotLive`` (409 ``gacha_not_live``) outside its
        period or once ended."""
        header = await self.header(gacha_id)
        version = self._drawable(header, gacha_id)
        config = self._configs.get((gacha_id, version.version))
        if config is None:
            async with self.ctx.db.transaction(read_only=True) as session:
                config = await self.version_config(session, gacha_id, version.version)
        assert header is not None
        return LiveGacha(gacha_id, header.vtuber_id, header.title, version.version, config)

    async def in_force(self, session: AsyncSession, gacha_id: str) -> LiveGacha:
        """Like ``live`` but read in ``session`` (the saga's transaction), never cached."""
        header = await self._load_header(session, gacha_id)
        version = self._drawable(header, gacha_id)
        assert header is not None
        config = await self.version_config(session, gacha_id, version.version)
        return LiveGacha(gacha_id, header.vtuber_id, header.title, version.version, config)

    async def version_config(
        self, session: AsyncSession, gacha_id: str, version: int
    ) -> GachaConfig:
        """A published version's configuration (immutable, so cached forever)."""
        key = (gacha_id, version)
        config = self._configs.get(key)
        if config is None:
            row = await repository.version(session, gacha_id, version)
            if row is None:
                raise OddsVersionNotFound(f"Gacha {gacha_id} has no odds version {version}")
            config = GachaConfig.model_validate(row.config)
            if len(self._configs) >= MAX_REMEMBERED_CONFIGS:
                self._configs.clear()
            self._configs[key] = config
        return config

    async def box_left(self, session: AsyncSession, gacha_id: str) -> int:
        """Items left in a box now, unlocked (an early check; the draw re-checks under lock)."""
        rows = await repository.box_stock(session, gacha_id)
        return sum(row.remaining for row in rows)

    async def take_from_box(self, session: AsyncSession, gacha_id: str) -> dict[str, int]:
        """The box's remaining counts in published order, rows locked (``FOR UPDATE``) until
        ``session`` ends: concurrent draws of one box take turns here. Empty for a gacha that
        is not a box."""
        rows = await repository.box_stock(session, gacha_id, lock=True)
        return {row.item_id: row.remaining for row in rows}

    async def set_box_remaining(
        self, session: AsyncSession, gacha_id: str, remaining: Mapping[str, int]
    ) -> None:
        """Write what is left after a draw (rows locked by ``take_from_box``). Box stock is
        never cached: the public page reads it live."""
        stock = await repository.box_stock(session, gacha_id, lock=True)
        rows = {row.item_id: row for row in stock}
        for item_id, left in remaining.items():
            row = rows.get(item_id)
            if row is None:
                raise ValueError(f"{item_id} is not in the box of gacha {gacha_id}")
            if not 0 <= left <= row.total:
                raise ValueError(f"{item_id}: {left} is outside 0..{row.total}")
            row.remaining = left
        await session.flush()

    async def return_to_box(
        self, session: AsyncSession, gacha_id: str, item_ids: Sequence[str]
    ) -> None:
        """Put items back (a drawn box draw whose payment was released)."""
        stock = await repository.box_stock(session, gacha_id, lock=True)
        rows = {row.item_id: row for row in stock}
        for item_id, count in Counter(item_ids).items():
            row = rows.get(item_id)
            if row is None:
                raise ValueError(f"{item_id} is not in the box of gacha {gacha_id}")
            if row.remaining + count > row.total:
                raise ValueError(f"{item_id}: returning {count} would overfill the box")
            row.remaining += count
        await session.flush()

    def _drawable(self, header: Header | None, gacha_id: str) -> Scheduled:
        if header is None or header.status not in PUBLISHED or not header.versions:
            raise GachaNotFound(f"No gacha {gacha_id}")
        if header.status == GachaStatus.ENDED:
            raise GachaNotLive(f"Gacha {gacha_id} has ended")
        now = self.ctx.now()
        version = header.in_force(now)
        if version is None:
            first = header.versions[0].effective_at.isoformat()
            raise GachaNotLive(f"Gacha {gacha_id} opens at {first}", starts_at=first)
        if not is_live(version.period, now):
            raise GachaNotLive(f"Gacha {gacha_id} is outside its period")
        return version

    # --- the cached header ----------------------------------------------------------------

    async def _load_header(self, session: AsyncSession, gacha_id: str) -> Header | None:
        row = await repository.gacha(session, gacha_id)
        if row is None:
            return None
        return header_of(row, await repository.versions(session, gacha_id))

    async def header(
        self, gacha_id: str, session: AsyncSession | None = None, *, remember: bool = True
    ) -> Header | None:
        """The cached header, or the one read in ``session`` (the primary's, unless given),
        then cached unless ``remember`` is false: a header read on a lagging replica must
        never reach the cache the draws decide with."""
        cached = await self.cache.get(gacha_key(gacha_id))
        if cached is not None:
            try:
                return Header.from_json(cached)
            except (KeyError, TypeError, ValueError):
                pass  # written by another release: read afresh and replace it
        if session is None:
            async with self.ctx.db.transaction(read_only=True) as own:
                header = await self._load_header(own, gacha_id)
        else:
            header = await self._load_header(session, gacha_id)
        if header is not None and remember:
            await self.cache.put(gacha_key(gacha_id), header.to_json())
        return header

    async def forget(self, gacha_id: str, versions: int) -> None:
        keys = [gacha_key(gacha_id), *(odds_key(gacha_id, v) for v in range(1, versions + 1))]
        await self.cache.drop(*keys)

    async def published(
        self, session: AsyncSession, gacha_id: str, *, remember: bool = True
    ) -> Header:
        """The header of a published gacha (approved or ended); anything else is not found."""
        header = await self.header(gacha_id, session, remember=remember)
        if header is None or header.status not in PUBLISHED or not header.versions:
            raise GachaNotFound(f"No gacha {gacha_id}")
        return header
