"""The catalogue's use cases: drafts, review, append-only odds versions (G4), box stock, and the
public catalogue with its disclosure (G6, G7).

What the draw saga relies on: ``live``, ``in_force``, ``version_config``, ``take_from_box``,
``set_box_remaining``, ``return_to_box``.

Caching: each gacha's header and its versions' schedule (effective times and periods) is one
entry, so "live" and "which version" are decided at every read against ``ctx.now()`` — a
cached gacha stops being live the instant its period ends, and an announced version takes over
the instant it becomes effective. A published configuration never changes, so it is kept in
memory for good. Operators' steps that change what the public sees (approve, new version, end)
run in their own transaction and drop the entries once it has committed.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.gacha.catalog import repository
from koepon.gacha.catalog.cache import CatalogCache, gacha_key, odds_key
from koepon.gacha.catalog.models import BoxStock, Gacha, OddsVersionRow
from koepon.gacha.catalog.policy import EDITABLE, PUBLISHED, GachaStatus, may_author
from koepon.gacha.catalog.schemas import (
    GachaDraft,
    GachaDraftIn,
    GachaDraftPage,
    GachaPage,
    GachaPublic,
    GachaSummary,
    OddsChangeLog,
    OddsVersionDetail,
    OddsVersionIn,
    OddsVersionOut,
    PeriodOut,
    Terms,
)
from koepon.gacha.catalog.views import (
    Header,
    Scheduled,
    draft_view,
    header_of,
    terms_of,
    version_out,
)
from koepon.gacha.context import GachaContext
from koepon.gacha.errors import (
    AuthoringForbidden,
    BoxCompositionLocked,
    ConfigurationRefused,
    GachaKindFixed,
    GachaNotEditable,
    GachaNotFound,
    GachaNotLive,
    GachaStatusConflict,
    OddsVersionNotFound,
)
from koepon.gacha.odds.disclosure import disclose
from koepon.gacha.odds.model import GachaConfig, is_live
from koepon.gacha.odds.validation import set_completion_attempts, validate_configuration
from koepon.gacha.odds.versions import (
    OddsVersion,
    check_new_version,
    config_digest,
)
from koepon.gacha.odds.violations import refusal
from koepon.kernel.clock import as_utc
from koepon.kernel.pagination import InvalidCursor, decode_keyset, encode_keyset

MAX_REMEMBERED_CONFIGS = 4096


@dataclass(frozen=True)
class LiveGacha:
    """A gacha fans can draw now: the odds version in force and its frozen configuration."""

    gacha_id: str
    vtuber_id: str
    title: str
    version: int
    config: GachaConfig


@dataclass(frozen=True)
class Actor:
    """Who calls an authoring or review use case."""

    user_id: str
    roles: frozenset[str]


def _refuse_g1(raw: Mapping[str, Any]) -> None:
    """G1 is refused at once, whatever else the configuration says."""
    attempts = set_completion_attempts(raw)
    if attempts:
        error = refusal(attempts)
        assert error is not None
        raise error


def _draft_kind(raw: Mapping[str, Any]) -> str:
    kind = raw.get("kind")
    if kind not in ("weighted", "box"):
        raise ConfigurationRefused(
            "config.kind must be 'weighted' or 'box'",
            violations=[{"rule": "schema", "path": "kind", "detail": "weighted or box"}],
        )
    return str(kind)


def _validated(raw: Mapping[str, Any]) -> GachaConfig:
    """The configuration if it breaks no rule (G7 flags do not refuse), else its refusal."""
    config, violations = validate_configuration(raw)
    error = refusal(violations)
    if error is not None:
        raise error
    assert config is not None
    return config


def _cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    moment, key = decode_keyset(cursor)
    if not key.isprintable():  # a forged cursor: never sent to the database
        raise InvalidCursor("The cursor is not one this API handed out", parameter="cursor")
    return moment, key


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
        header = await self._header(gacha_id)
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

    async def _header(self, gacha_id: str, session: AsyncSession | None = None) -> Header | None:
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
        if header is not None:
            await self.cache.put(gacha_key(gacha_id), header.to_json())
        return header

    async def _forget(self, gacha_id: str, versions: int) -> None:
        keys = [gacha_key(gacha_id), *(odds_key(gacha_id, v) for v in range(1, versions + 1))]
        await self.cache.drop(*keys)

    # --- authoring (the VTuber's team) ----------------------------------------------------

    async def create(
        self,
        session: AsyncSession,
        actor: Actor,
        vtuber_id: str,
        data: GachaDraftIn,
        *,
        gacha_id: str | None = None,
    ) -> GachaDraft:
        """A new draft. A set-completion reward (G1) is refused at once; anything else the
        configuration breaks is listed in ``checks`` and refused at submission."""
        if not may_author(actor.user_id, actor.roles, vtuber_id):
            raise AuthoringForbidden("A VTuber authors gachas only for their own account")
        _refuse_g1(data.config)
        now = self.ctx.now()
        row = Gacha(
            id=gacha_id or str(uuid.uuid4()),
            vtuber_id=vtuber_id,
            title=data.title,
            description=data.description,
            kind=_draft_kind(data.config),
            status=GachaStatus.DRAFT,
            draft=data.config,
            current_version=None,
            created_by=actor.user_id,
            created_at=now,
            updated_at=now,
        )
        repository.add_gacha(session, row)
        await session.flush()
        return draft_view(row)

    async def team_gachas(
        self, session: AsyncSession, actor: Actor, vtuber_id: str, *, limit: int, cursor: str | None
    ) -> GachaDraftPage:
        """The VTuber's gachas in every status, drafts included, newest first."""
        if not may_author(actor.user_id, actor.roles, vtuber_id):
            raise AuthoringForbidden("A VTuber sees only their own gachas here")
        rows = await repository.gachas(
            session, vtuber_id=vtuber_id, limit=limit + 1, after=_cursor(cursor)
        )
        return self._draft_page(rows, limit)

    async def _authored(self, session: AsyncSession, actor: Actor, gacha_id: str) -> Gacha:
        """The gacha locked for a change by its team; another team's is not found (hidden)."""
        row = await repository.gacha(session, gacha_id, lock=True)
        if row is None or not may_author(actor.user_id, actor.roles, row.vtuber_id):
            raise GachaNotFound(f"No gacha {gacha_id}")
        return row

    async def edit(
        self, session: AsyncSession, actor: Actor, gacha_id: str, data: GachaDraftIn
    ) -> GachaDraft:
        """Replace a draft (or a rejected gacha, which becomes a draft again)."""
        row = await self._authored(session, actor, gacha_id)
        if row.status not in EDITABLE:
            raise GachaNotEditable(
                f"Gacha {gacha_id} is {row.status}; only drafts and rejected gachas are edited",
                status_now=row.status,
            )
        _refuse_g1(data.config)
        row.kind = _draft_kind(data.config)
        row.title = data.title
        row.description = data.description
        row.draft = data.config
        row.status = GachaStatus.DRAFT
        row.updated_at = self.ctx.now()
        await session.flush()
        return draft_view(row)

    async def submit(self, session: AsyncSession, actor: Actor, gacha_id: str) -> GachaDraft:
        """Send the draft to review: refused (422, the rule id as ``code``, every violation
        listed) when it breaks a COMPLIANCE rule. Expected-cost flags (G7) do not refuse."""
        row = await self._authored(session, actor, gacha_id)
        if row.status == GachaStatus.SUBMITTED:
            return draft_view(row)
        if row.status not in EDITABLE:
            raise GachaNotEditable(f"Gacha {gacha_id} is {row.status}", status_now=row.status)
        _validated(row.draft)
        now = self.ctx.now()
        row.status = GachaStatus.SUBMITTED
        row.submitted_at = now
        row.updated_at = now
        await session.flush()
        return draft_view(row)

    # --- review (operators) ---------------------------------------------------------------

    async def review_queue(
        self, session: AsyncSession, *, status: GachaStatus, limit: int, cursor: str | None
    ) -> GachaDraftPage:
        """Gachas in ``status`` (the queue: submitted), oldest first, with checks and costs."""
        rows = await repository.gachas(
            session, statuses=[status], limit=limit + 1, after=_cursor(cursor), oldest_first=True
        )
        return self._draft_page(rows, limit)

    @staticmethod
    def _draft_page(rows: list[Gacha], limit: int) -> GachaDraftPage:
        more = len(rows) > limit
        rows = rows[:limit]
        last = rows[-1] if more and rows else None
        return GachaDraftPage(
            items=[draft_view(row) for row in rows],
            next_cursor=encode_keyset(as_utc(last.created_at), last.id) if last else None,
        )

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
                return draft_view(row)
            if row.status != GachaStatus.SUBMITTED:
                raise GachaStatusConflict(
                    f"Gacha {gacha_id} is {row.status}; only a submitted gacha is approved",
                    status_now=row.status,
                )
            config = _validated(row.draft)
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
            await session.flush()
            view = draft_view(row)
        await self._forget(gacha_id, 1)
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
            return draft_view(row)
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
        await session.flush()
        return draft_view(row)

    async def publish_version(
        self, reviewer: str, gacha_id: str, data: OddsVersionIn
    ) -> OddsVersionOut:
        """Append the next odds version of an approved gacha (G4): fully validated, effective
        no sooner than the notice period when the gacha is live, with a change note. A box's
        contents never change (its one stock is shared by every version)."""
        async with self.ctx.db.transaction() as session:
            row = await self._reviewed(session, gacha_id)
            if row.status != GachaStatus.APPROVED:
                raise GachaStatusConflict(
                    f"Gacha {gacha_id} is {row.status}; only an approved gacha gets new odds",
                    status_now=row.status,
                )
            _refuse_g1(data.config)
            config = _validated(data.config)
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
            version = OddsVersion(
                version=len(rows) + 1,
                published_at=now,
                effective_at=as_utc(data.effective_at),
                digest=config_digest(config),
                change_note=data.change_note,
            )
            notice = timedelta(hours=self.ctx.gacha_settings.odds_notice_hours)
            live = header.state(now) == "live"
            history = [v.odds for v in header.versions]
            error = refusal(check_new_version(history, version, live=live, notice=notice))
            if error is not None:
                raise error
            self._publish(session, row, config, version, reviewer)
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
        await self._forget(gacha_id, version.version)
        header = replace(header, versions=(*header.versions, scheduled))
        return version_out(header, scheduled, now)

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
                await session.flush()
            view = draft_view(row)
            versions = row.current_version or 0
        await self._forget(gacha_id, versions)
        return view

    # --- the public catalogue -------------------------------------------------------------

    async def _published(self, session: AsyncSession, gacha_id: str) -> Header:
        header = await self._header(gacha_id, session)
        if header is None or header.status not in PUBLISHED or not header.versions:
            raise GachaNotFound(f"No gacha {gacha_id}")
        return header

    async def _terms(
        self, session: AsyncSession, header: Header, version: Scheduled, *, live_box: bool
    ) -> Terms:
        """One version's disclosure: cached for a weighted gacha; a box's stock read live."""
        if header.kind == "box":
            config = await self.version_config(session, header.id, version.version)
            remaining = None
            if live_box:
                remaining = {
                    s.item_id: s.remaining for s in await repository.box_stock(session, header.id)
                }
            return terms_of(disclose(config, box_remaining=remaining), version)
        key = odds_key(header.id, version.version)
        cached = await self.cache.get(key)
        if cached is not None:
            try:
                return Terms.model_validate(cached)
            except ValidationError:
                pass  # written by another release: disclose afresh and replace it
        config = await self.version_config(session, header.id, version.version)
        terms = terms_of(disclose(config), version)
        await self.cache.put(key, terms.model_dump(mode="json"))
        return terms

    async def public_gacha(self, session: AsyncSession, gacha_id: str) -> GachaPublic:
        """Everything shown before purchase (G6, G7, P2); drafts are not found."""
        header = await self._published(session, gacha_id)
        now = self.ctx.now()
        shown = header.shown(now)
        terms = await self._terms(session, header, shown, live_box=True)
        announced = next(
            (v for v in header.versions if v.version > shown.version and v.effective_at > now),
            None,
        )
        return GachaPublic(
            **terms.model_dump(),
            id=header.id,
            vtuber_id=header.vtuber_id,
            title=header.title,
            description=header.description,
            state=header.state(now),
            announced_version=version_out(header, announced, now) if announced else None,
        )

    async def change_log(self, session: AsyncSession, gacha_id: str) -> OddsChangeLog:
        """Every published version (G4), oldest first; one announced for the future is shown
        with its effective time — that is the advance notice."""
        header = await self._published(session, gacha_id)
        now = self.ctx.now()
        return OddsChangeLog(
            gacha_id=gacha_id, versions=[version_out(header, v, now) for v in header.versions]
        )

    async def odds_version(
        self, session: AsyncSession, gacha_id: str, version: int
    ) -> OddsVersionDetail:
        """Any published version's full disclosure (a box shows live stock for the version
        in force, a full box for the others)."""
        header = await self._published(session, gacha_id)
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
        after = _cursor(cursor)
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
            config = await self.version_config(session, header.id, shown.version)
            items.append(
                GachaSummary(
                    id=header.id,
                    vtuber_id=header.vtuber_id,
                    title=header.title,
                    kind=header.kind,
                    state=header.state(now),
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
