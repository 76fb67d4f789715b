"""Operators' use cases: the review queue, approve (odds version 1 and box stock), reject, new
odds versions (G4, append-only, advance notice) and ending a gacha. Each step that changes what
the public sees drops the catalogue's cached entries once it has committed, and every decision
is published to other services (``gacha.catalog.changed.v1``) in its own transaction."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from koepon.gacha.catalog import repository
from koepon.gacha.catalog.checks import page_cursor, refuse_bad_shares, refuse_g1, validated
from koepon.gacha.catalog.contents import ContentCheck
from koepon.gacha.catalog.events import announce
from koepon.gacha.catalog.models import BoxStock, Gacha, OddsVersionRow
from koepon.gacha.catalog.policy import GachaStatus
from koepon.gacha.catalog.schemas import (
    GachaDraft,
    GachaDraftPage,
    OddsVersionIn,
    OddsVersionOut,
)
from koepon.gacha.catalog.service import Catalog
from koepon.gacha.catalog.teams import TeamPermissions
from koepon.gacha.catalog.views import (
    Header,
    Scheduled,
    draft_page,
    draft_view,
    header_of,
    version_out,
)
from koepon.gacha.context import GachaContext
from koepon.gacha.errors import (
    BoxCompositionLocked,
    GachaKindFixed,
    GachaNotFound,
    GachaStatusConflict,
)
from koepon.gacha.odds.model import GachaConfig
from koepon.gacha.odds.shares import parties
from koepon.gacha.odds.validation import validate_configuration
from koepon.gacha.odds.versions import (
    OddsVersion,
    check_new_version,
    config_digest,
)
from koepon.gacha.odds.violations import refusal
from koepon.kernel.clock import as_utc


class Reviews:
    def __init__(
        self,
        ctx: GachaContext,
        catalog: Catalog,
        contents: ContentCheck,
        teams: TeamPermissions,
    ) -> None:
        self.ctx = ctx
        self.catalog = catalog
        self.contents = contents
        self.teams = teams

    async def review_queue(
        self, session: AsyncSession, *, status: GachaStatus, limit: int, cursor: str | None
    ) -> GachaDraftPage:
        """Gachas in ``status`` (the queue: submitted), oldest first, with checks and costs."""
        rows = await repository.gachas(
            session,
            statuses=[status],
            limit=limit + 1,
            after=page_cursor(cursor),
            oldest_first=True,
        )
        published = [row.id for row in rows if row.current_version is not None]
        versions = await repository.versions_of(session, published)
        return draft_page(rows, limit, now=self.ctx.now(), versions=versions)

    async def _reviewed(self, session: AsyncSession, gacha_id: str) -> Gacha:
        row = await repository.gacha(session, gacha_id, lock=True)
        if row is None:
            raise GachaNotFound(f"No gacha {gacha_id}")
        return row

    async def approve(self, reviewer: str, gacha_id: str) -> GachaDraft:
        """Re-validate and publish odds version 1 (effective at the period's start, or now if
        that has passed) with the box's stock. Approving an approved gacha answers the same
        and publishes nothing. Runs in its own transaction; the cache is dropped after it."""
        async with self.ctx.db.transaction() as session:
            row = await self._reviewed(session, gacha_id)
            if row.status == GachaStatus.APPROVED:
                return draft_view(row, self.ctx.now(), await repository.versions(session, row.id))
            if row.status != GachaStatus.SUBMITTED:
                raise GachaStatusConflict(
                    f"Gacha {gacha_id} is {row.status}; only a submitted gacha is approved",
                    status_now=row.status,
                )
            config = validated(row.draft)
            await self.contents.refuse_missing(row.vtuber_id, config)
            await self.teams.refuse_unapproved(parties(config.revenue_shares))
            now = self.ctx.now()
            ends = config.period.ends_at
            if ends is not None and as_utc(ends) <= now:
                raise GachaStatusConflict(
                    f"Gacha {gacha_id}'s period ended at {ends.isoformat()}; the team must "
                    "give it a new period",
                    status_now=row.status,
                )
            effective = max(as_utc(config.period.starts_at), now)
            version = OddsVersion(1, now, effective, config_digest(config))
            error = refusal(check_new_version([], version, live=False))
            if error is not None:
                raise error
            self._publish(session, row, config, version, reviewer)
            repository.add_box_stock(
                session,
                (
                    BoxStock(
                        gacha_id=row.id,
                        item_id=line.item_id,
                        position=position,
                        total=line.count,
                        remaining=line.count,
                    )
                    for position, line in enumerate(config.box)
                ),
            )
            row.status = GachaStatus.APPROVED
            row.reviewed_by = reviewer
            row.reviewed_at = now
            await announce(self.ctx, session, row, config)
            await session.flush()
            view = draft_view(row, now)
        await self.catalog.forget(gacha_id, 1)
        return view

    def _publish(
        self,
        session: AsyncSession,
        row: Gacha,
        config: GachaConfig,
        version: OddsVersion,
        reviewer: str,
    ) -> None:
        repository.add_version(
            session,
            OddsVersionRow(
                gacha_id=row.id,
                version=version.version,
                config=config.model_dump(mode="json"),
                digest=version.digest,
                published_at=version.published_at,
                effective_at=version.effective_at,
                change_note=version.change_note,
                published_by=reviewer,
            ),
        )
        row.current_version = version.version
        row.updated_at = version.published_at

    async def reject(
        self, session: AsyncSession, reviewer: str, gacha_id: str, reason: str
    ) -> GachaDraft:
        """Send a submitted gacha back to its team with the reason (it can be edited again)."""
        row = await self._reviewed(session, gacha_id)
        if row.status == GachaStatus.REJECTED:
            return draft_view(row, self.ctx.now())
        if row.status != GachaStatus.SUBMITTED:
            raise GachaStatusConflict(
                f"Gacha {gacha_id} is {row.status}; only a submitted gacha is rejected",
                status_now=row.status,
            )
        now = self.ctx.now()
        row.status = GachaStatus.REJECTED
        row.review_note = reason
        row.reviewed_by = reviewer
        row.reviewed_at = now
        row.updated_at = now
        # Sound when submitted (never edited while submitted); a rule added since must not
        # stop a rejection, so an unreadable draft is simply not announced.
        config, _violations = validate_configuration(row.draft)
        if config is not None:
            await announce(self.ctx, session, row, config)
        await session.flush()
        return draft_view(row, now)

    async def publish_version(
        self, reviewer: str, gacha_id: str, data: OddsVersionIn
    ) -> OddsVersionOut:
        """Append the next odds version of an approved gacha (G4): fully validated, effective
        no sooner than the notice period when the gacha is live, with a change note. A box's
        contents never change (its one stock is shared by every version)."""
        async with self.ctx.db.transaction() as session:
            row = await self._reviewed(session, gacha_id)
            header, scheduled = await self.append_version(session, row, data, reviewer)
        await self.catalog.forget(gacha_id, scheduled.version)
        return version_out(header, scheduled, self.ctx.now())

    async def append_version(
        self,
        session: AsyncSession,
        row: Gacha,
        data: OddsVersionIn,
        reviewer: str,
        *,
        after_notice: bool = False,
    ) -> tuple[Header, Scheduled]:
        """The one path that publishes a new odds version of ``row`` (locked by the caller), for
        an operator's direct publication and an approved team proposal alike; the caller drops
        the cache once committed."""
        config, header, version = await self.next_version(
            session, row, data, after_notice=after_notice
        )
        self._publish(session, row, config, version, reviewer)
        await announce(self.ctx, session, row, config)
        await session.flush()
        scheduled = Scheduled(
            version=version.version,
            published_at=version.published_at,
            effective_at=version.effective_at,
            change_note=version.change_note,
            digest=version.digest,
            starts_at=as_utc(config.period.starts_at),
            ends_at=as_utc(config.period.ends_at) if config.period.ends_at else None,
        )
        return replace(header, versions=(*header.versions, scheduled)), scheduled

    async def next_version(
        self,
        session: AsyncSession,
        row: Gacha,
        data: OddsVersionIn,
        *,
        after_notice: bool = False,
    ) -> tuple[GachaConfig, Header, OddsVersion]:
        """The next odds version of ``row`` if it may be published now (G-rules, G4, the kind,
        a box's contents, contents and collaborators), else the refusal; writes nothing.
        ``after_notice``: the effective time is moved to the earliest G4 allows (now + notice
        for a live gacha, now otherwise, and never before the newest version's) instead of
        refused."""
        gacha_id = row.id
        if row.status != GachaStatus.APPROVED:
            raise GachaStatusConflict(
                f"Gacha {gacha_id} is {row.status}; only an approved gacha gets new odds",
                status_now=row.status,
            )
        refuse_g1(data.config)
        refuse_bad_shares(row.vtuber_id, data.config)
        config = validated(data.config)
        await self.contents.refuse_missing(row.vtuber_id, config)
        await self.teams.refuse_unapproved(parties(config.revenue_shares))
        if config.kind != row.kind:
            raise GachaKindFixed(f"Gacha {gacha_id} is a {row.kind} gacha; it stays one")
        if config.kind == "box":
            stock = await repository.box_stock(session, gacha_id, lock=True)
            contents = [(b.item_id, b.count) for b in config.box]
            if [(s.item_id, s.total) for s in stock] != contents:
                drawn = any(s.remaining < s.total for s in stock)
                raise BoxCompositionLocked(
                    "A box's contents cannot change"
                    + (" once fans have drawn from it" if drawn else "")
                    + "; publish a new gacha for another box",
                    drawn_from=drawn,
                )
        rows = await repository.versions(session, gacha_id)
        header = header_of(row, rows)
        now = self.ctx.now()
        notice = timedelta(hours=self.ctx.gacha_settings.odds_notice_hours)
        live = header.state(now) == "live"
        effective = as_utc(data.effective_at)
        if after_notice and header.versions:
            earliest = max(now + notice if live else now, header.versions[-1].effective_at)
            effective = max(effective, earliest)
        version = OddsVersion(
            version=len(rows) + 1,
            published_at=now,
            effective_at=effective,
            digest=config_digest(config),
            change_note=data.change_note,
        )
        history = [v.odds for v in header.versions]
        error = refusal(check_new_version(history, version, live=live, notice=notice))
        if error is not None:
            raise error
        return config, header, version

    async def end(self, reviewer: str, gacha_id: str) -> GachaDraft:
        """End an approved gacha at once (no more draws; its page and odds stay readable)."""
        async with self.ctx.db.transaction() as session:
            row = await self._reviewed(session, gacha_id)
            if row.status != GachaStatus.ENDED:
                if row.status != GachaStatus.APPROVED:
                    raise GachaStatusConflict(
                        f"Gacha {gacha_id} is {row.status}; only an approved gacha is ended",
                        status_now=row.status,
                    )
                row.status = GachaStatus.ENDED
                row.reviewed_by = reviewer
                row.updated_at = self.ctx.now()
                assert row.current_version is not None  # approved: version 1 at least
                newest = await self.catalog.version_config(session, row.id, row.current_version)
                await announce(self.ctx, session, row, newest)
                await session.flush()
            view = draft_view(row, self.ctx.now())
            versions = row.current_version or 0
        await self.catalog.forget(gacha_id, versions)
        return view
