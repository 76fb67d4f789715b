"""The public catalogue: the list of live and upcoming gachas, a gacha's full disclosure before
purchase (G6, G7, P2), its odds change log (G4) and any published version.

Its routes read in a session of the service's reader (``Database.reader``: the read replica when
one is configured), so what is shown may lag the primary by the replica's delay. Two things
never come from the replica: a box's remaining stock (G2: shown live) is read on the primary,
and nothing read on a replica is put in the catalogue's cache, which the draws decide with.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.gacha.catalog import repository
from koepon.gacha.catalog.cache import odds_key
from koepon.gacha.catalog.checks import page_cursor
from koepon.gacha.catalog.models import Gacha
from koepon.gacha.catalog.policy import GachaStatus
from koepon.gacha.catalog.schemas import (
    GachaPage,
    GachaPublic,
    GachaSummary,
    OddsChangeLog,
    OddsVersionDetail,
    PeriodOut,
    PublicPhase,
    RevenueShareOut,
    Terms,
)
from koepon.gacha.catalog.service import Catalog
from koepon.gacha.catalog.views import (
    Header,
    Scheduled,
    header_of,
    terms_of,
    version_out,
)
from koepon.gacha.context import GachaContext
from koepon.gacha.errors import (
    OddsVersionNotFound,
)
from koepon.gacha.odds.disclosure import disclose
from koepon.gacha.odds.model import GachaConfig
from koepon.kernel.clock import as_utc
from koepon.kernel.pagination import encode_keyset


def public_phase(header: Header, now: datetime) -> PublicPhase:
    """A published gacha (approved or ended) is scheduled, live or ended."""
    current = header.phase(now)
    if current not in ("scheduled", "live", "ended"):
        raise ValueError(f"gacha {header.id} is {header.status}, not published")
    return current


class PublicCatalog:
    def __init__(self, ctx: GachaContext, catalog: Catalog) -> None:
        self.ctx = ctx
        self.catalog = catalog
        # No replica configured: the pages read the primary, so what they find may be cached.
        self.reads_primary = ctx.db.reader is ctx.db

    async def _box_remaining(self, session: AsyncSession, gacha_id: str) -> dict[str, int]:
        """A box's stock now, on the primary whatever the page reads in (G2: shown live)."""
        if self.reads_primary:  # ``session`` is the primary's
            return {s.item_id: s.remaining for s in await repository.box_stock(session, gacha_id)}
        async with self.ctx.db.transaction(read_only=True) as primary:
            return {s.item_id: s.remaining for s in await repository.box_stock(primary, gacha_id)}

    async def _config(self, session: AsyncSession, gacha_id: str, version: int) -> GachaConfig:
        """A published configuration; one the replica does not hold yet (the header came from
        the cache, which is the primary's) is read on the primary."""
        try:
            return await self.catalog.version_config(session, gacha_id, version)
        except OddsVersionNotFound:
            if self.reads_primary:
                raise
        async with self.ctx.db.transaction(read_only=True) as primary:
            return await self.catalog.version_config(primary, gacha_id, version)

    async def _terms(
        self, session: AsyncSession, header: Header, version: Scheduled, *, live_box: bool
    ) -> Terms:
        """One version's disclosure: cached for a weighted gacha; a box's stock read live."""
        if header.kind == "box":
            config = await self._config(session, header.id, version.version)
            remaining = await self._box_remaining(session, header.id) if live_box else None
            return terms_of(disclose(config, box_remaining=remaining), version)
        key = odds_key(header.id, version.version)
        cached = await self.catalog.cache.get(key)
        if cached is not None:
            try:
                return Terms.model_validate(cached)
            except ValidationError:
                pass  # written by another release: disclose afresh and replace it
        config = await self._config(session, header.id, version.version)
        terms = terms_of(disclose(config), version)
        if self.reads_primary:
            await self.catalog.cache.put(key, terms.model_dump(mode="json"))
        return terms

    async def public_gacha(self, session: AsyncSession, gacha_id: str) -> GachaPublic:
        """Everything shown before purchase (G6, G7, P2); drafts are not found."""
        header = await self.catalog.published(session, gacha_id, remember=self.reads_primary)
        now = self.ctx.now()
        shown = header.shown(now)
        terms = await self._terms(session, header, shown, live_box=True)
        announced = next(
            (v for v in header.versions if v.version > shown.version and v.effective_at > now),
            None,
        )
        config = await self._config(session, header.id, shown.version)
        return GachaPublic(
            **terms.model_dump(),
            id=header.id,
            vtuber_id=header.vtuber_id,
            title=header.title,
            description=header.description,
            state=header.state(now),
            phase=public_phase(header, now),
            revenue_shares=[
                RevenueShareOut(vtuber_id=line.vtuber_id, share_bp=line.share_bp)
                for line in config.revenue_shares
            ],
            announced_version=version_out(header, announced, now) if announced else None,
        )

    async def change_log(self, session: AsyncSession, gacha_id: str) -> OddsChangeLog:
        """Every published version (G4), oldest first; one announced for the future is shown
        with its effective time — that is the advance notice."""
        header = await self.catalog.published(session, gacha_id, remember=self.reads_primary)
        now = self.ctx.now()
        return OddsChangeLog(
            gacha_id=gacha_id, versions=[version_out(header, v, now) for v in header.versions]
        )

    async def odds_version(
        self, session: AsyncSession, gacha_id: str, version: int
    ) -> OddsVersionDetail:
        """Any published version's full disclosure (a box shows live stock for the version
        in force, a full box for the others)."""
        header = await self.catalog.published(session, gacha_id, remember=self.reads_primary)
        if not 1 <= version <= len(header.versions):
            raise OddsVersionNotFound(f"Gacha {gacha_id} has no odds version {version}")
        now = self.ctx.now()
        scheduled = header.versions[version - 1]
        current = header.in_force(now)
        in_force = current is not None and current.version == version
        terms = await self._terms(session, header, scheduled, live_box=in_force)
        return OddsVersionDetail(
            **terms.model_dump(),
            gacha_id=gacha_id,
            version=version,
            published_at=scheduled.published_at,
            effective_at=scheduled.effective_at,
            change_note=scheduled.change_note,
            state=header.version_state(scheduled, now),
        )

    async def catalogue(
        self, session: AsyncSession, *, limit: int, cursor: str | None
    ) -> GachaPage:
        """Live and upcoming gachas, newest first, a page at a time."""
        after = page_cursor(cursor)
        now = self.ctx.now()
        found: list[tuple[Gacha, Header]] = []
        batch = max(limit * 2, 20)
        while len(found) <= limit:
            rows = await repository.gachas(
                session, statuses=[GachaStatus.APPROVED], limit=batch, after=after
            )
            if not rows:
                break
            versions = await repository.versions_of(session, (row.id for row in rows))
            for row in rows:
                header = header_of(row, versions[row.id])
                if header.versions and header.state(now) != "ended":
                    found.append((row, header))
            if len(rows) < batch:
                break
            after = (as_utc(rows[-1].created_at), rows[-1].id)
        more = len(found) > limit
        found = found[:limit]
        items = []
        for _row, header in found:
            shown = header.shown(now)
            config = await self._config(session, header.id, shown.version)
            items.append(
                GachaSummary(
                    id=header.id,
                    vtuber_id=header.vtuber_id,
                    title=header.title,
                    kind=header.kind,
                    state=header.state(now),
                    phase=public_phase(header, now),
                    price_medals=config.price_medals,
                    price_jpy=config.price_jpy,
                    multi_price_medals=config.multi.price_medals if config.multi else None,
                    multi_price_jpy=config.multi.price_jpy if config.multi else None,
                    period=PeriodOut(starts_at=shown.starts_at, ends_at=shown.ends_at),
                    odds_version=shown.version,
                )
            )
        last = found[-1][0] if more and found else None
        return GachaPage(
            items=items,
            next_cursor=encode_keyset(as_utc(last.created_at), last.id) if last else None,
        )
