"""What each reader is shown of a gacha (pure: no I/O): the schedule of its versions (which
applies when, live or not), the team's and reviewers' view of a draft with its checks and
expected costs, and the public disclosure as a mapping of ``odds.disclosure.disclose()`` —
nothing is recomputed here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from koepon.gacha.catalog.models import Gacha, OddsVersionRow
from koepon.gacha.catalog.phases import Phase, phase
from koepon.gacha.catalog.policy import GachaStatus
from koepon.gacha.catalog.schemas import (
    Check,
    ExchangeOfferOut,
    ExchangeOut,
    ExpectedCost,
    GachaDraft,
    GachaDraftPage,
    LimitsOut,
    MultiDrawOut,
    Odds,
    OddsLine,
    OddsVersionOut,
    PeriodOut,
    PityOut,
    RarityTotal,
    State,
    StepOut,
    StepUpOut,
    Terms,
    VersionState,
)
from koepon.gacha.odds.disclosure import Disclosure, disclose
from koepon.gacha.odds.model import Period, is_live
from koepon.gacha.odds.validation import validate_configuration
from koepon.gacha.odds.versions import OddsVersion, version_in_force
from koepon.gacha.odds.violations import Violation, refusing
from koepon.kernel.clock import as_utc
from koepon.kernel.pagination import encode_keyset


@dataclass(frozen=True)
class Scheduled:
    """One published version as the schedule knows it: when it applies and its period."""

    version: int
    published_at: datetime
    effective_at: datetime
    change_note: str
    digest: str
    starts_at: datetime
    ends_at: datetime | None

    @property
    def odds(self) -> OddsVersion:
        return OddsVersion(
            self.version, self.published_at, self.effective_at, self.digest, self.change_note
        )

    @property
    def period(self) -> Period:
        return Period(starts_at=self.starts_at, ends_at=self.ends_at)


@dataclass(frozen=True)
class Header:
    """A gacha and its versions' schedule: the cached entry ``live`` and the public read."""

    id: str
    vtuber_id: str
    title: str
    description: str
    kind: str
    status: str
    created_at: datetime
    versions: tuple[Scheduled, ...]

    def in_force(self, now: datetime) -> Scheduled | None:
        chosen = version_in_force([v.odds for v in self.versions], now)
        return None if chosen is None else self.versions[chosen.version - 1]

    def shown(self, now: datetime) -> Scheduled:
        """The version the public page shows: in force, or before the start the first one."""
        return self.in_force(now) or self.versions[0]

    def state(self, now: datetime) -> State:
        if self.status == GachaStatus.ENDED:
            return "ended"
        current = self.in_force(now)
        if current is None or now < current.starts_at:
            return "upcoming"
        return "live" if is_live(current.period, now) else "ended"

    def phase(self, now: datetime) -> Phase:
        """The workflow phase (``phases.py``) by the period of the version shown now."""
        if not self.versions:
            return phase(self.status, None, None, now)
        shown = self.shown(now)
        return phase(self.status, shown.starts_at, shown.ends_at, now)

    def version_state(self, version: Scheduled, now: datetime) -> VersionState:
        if version.effective_at > now:
            return "announced"
        current = self.in_force(now)
        return "in_force" if current and current.version == version.version else "superseded"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["versions"] = [
            {
                **asdict(v),
                **{
                    k: (getattr(v, k).isoformat() if getattr(v, k) else None)
                    for k in ("published_at", "effective_at", "starts_at", "ends_at")
                },
            }
            for v in self.versions
        ]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Header:
        def moment(text: str | None) -> datetime | None:
            return None if text is None else datetime.fromisoformat(text)

        versions = tuple(
            Scheduled(
                version=v["version"],
                published_at=datetime.fromisoformat(v["published_at"]),
                effective_at=datetime.fromisoformat(v["effective_at"]),
                change_note=v["change_note"],
                digest=v["digest"],
                starts_at=datetime.fromisoformat(v["starts_at"]),
                ends_at=moment(v["ends_at"]),
            )
            for v in data["versions"]
        )
        return cls(
            **{k: data[k] for k in ("id", "vtuber_id", "title", "description", "kind", "status")},
            created_at=datetime.fromisoformat(data["created_at"]),
            versions=versions,
        )


def _scheduled(row: OddsVersionRow) -> Scheduled:
    period = row.config["period"]
    ends = period.get("ends_at")
    return Scheduled(
        version=row.version,
        published_at=as_utc(row.published_at),
        effective_at=as_utc(row.effective_at),
        change_note=row.change_note,
        digest=row.digest,
        starts_at=as_utc(datetime.fromisoformat(period["starts_at"])),
        ends_at=as_utc(datetime.fromisoformat(ends)) if ends else None,
    )


def header_of(row: Gacha, versions: Sequence[OddsVersionRow]) -> Header:
    return Header(
        id=row.id,
        vtuber_id=row.vtuber_id,
        title=row.title,
        description=row.description,
        kind=row.kind,
        status=row.status,
        created_at=as_utc(row.created_at),
        versions=tuple(_scheduled(v) for v in versions),
    )


# --- what the team and the reviewers see of a draft ----------------------------------------


def _checks(violations: Sequence[Violation]) -> list[Check]:
    return [
        Check(rule=v.rule, path=v.path, detail=v.detail, severity=v.severity) for v in violations
    ]


def _expected_costs(disclosure: Disclosure) -> list[ExpectedCost]:
    return [
        ExpectedCost(
            table=table.name,
            item_id=line.item_id,
            rarity=line.rarity,
            percent=line.percent,
            expected_cost_medals=line.expected_cost_medals,
            expected_cost_jpy=line.expected_cost_jpy,
            flagged=line.cost_flagged,
        )
        for table in disclosure.tables
        for line in table.lines
    ]


def checked(raw: Mapping[str, Any]) -> tuple[list[Check], list[ExpectedCost], bool]:
    """Every rule a configuration breaks or trips and, once sound, its expected costs (G7)
    and whether any is flagged."""
    config, violations = validate_configuration(raw)
    if config is None or refusing(violations):
        return _checks(violations), [], False
    disclosure = disclose(config)
    return _checks(violations), _expected_costs(disclosure), disclosure.cost_flagged


def _draft_period(raw: Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
    """The draft's own period, when it can be read (an approved gacha whose versions were not
    passed in: its first version is this draft)."""
    try:
        period = Period.model_validate(raw.get("period"))
    except ValueError:
        return None, None
    ends = as_utc(period.ends_at) if period.ends_at else None
    return as_utc(period.starts_at), ends


def draft_view(row: Gacha, now: datetime, versions: Sequence[OddsVersionRow] = ()) -> GachaDraft:
    """The draft with every rule it breaks (checks), once sound its expected costs, and its
    workflow phase now (by its published versions' schedule when given)."""
    if versions:
        current = header_of(row, versions).phase(now)
    else:
        starts, ends = _draft_period(row.draft)
        current = phase(row.status, starts, ends, now)
    checks, costs, flagged = checked(row.draft)
    return GachaDraft(
        id=row.id,
        vtuber_id=row.vtuber_id,
        title=row.title,
        description=row.description,
        kind=row.kind,
        status=row.status,
        phase=current,
        config=row.draft,
        checks=checks,
        expected_costs=costs,
        expected_cost_flagged=flagged,
        current_version=row.current_version,
        created_by=row.created_by,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        submitted_at=as_utc(row.submitted_at) if row.submitted_at else None,
        reviewed_by=row.reviewed_by,
        reviewed_at=as_utc(row.reviewed_at) if row.reviewed_at else None,
        review_note=row.review_note,
    )


# --- the public disclosure: a mapping of odds/disclosure.disclose(), nothing recomputed ------


def terms_of(disclosure: Disclosure, version: Scheduled) -> Terms:
    box = disclosure.kind == "box"
    tables = {
        table.name: [
            OddsLine(
                item_id=line.item_id,
                content_id=line.content_id,
                name=line.name,
                rarity=line.rarity,
                weight=None if box else line.weight,
                rate_ppm=line.rate_ppm,
                percent=line.percent,
                expected_cost_medals=line.expected_cost_medals,
                expected_cost_jpy=line.expected_cost_jpy,
                expected_cost_flagged=line.cost_flagged,
                remaining=line.remaining,
                total=line.total,
            )
            for line in table.lines
        ]
        for table in disclosure.tables
    }
    totals = {
        table.name: [
            RarityTotal(rarity=t.rarity, rate_ppm=t.rate_ppm, percent=t.percent)
            for t in table.rarity_totals
        ]
        for table in disclosure.tables
    }
    multi = None
    if disclosure.multi_count is not None:
        assert disclosure.multi_price_medals is not None and disclosure.multi_price_jpy is not None
        multi = MultiDrawOut(
            count=disclosure.multi_count,
            price_medals=disclosure.multi_price_medals,
            price_jpy=disclosure.multi_price_jpy,
            guaranteed_min_rarity=disclosure.guaranteed_min_rarity,
        )
    pity = None
    if disclosure.pity_draws is not None and disclosure.pity_min_rarity is not None:
        pity = PityOut(draws=disclosure.pity_draws, min_rarity=disclosure.pity_min_rarity)
    exchange = None
    if disclosure.exchange_points_per_paid_draw is not None:
        exchange = ExchangeOut(
            points_per_paid_draw=disclosure.exchange_points_per_paid_draw,
            offers=[
                ExchangeOfferOut(item_id=item_id, cost_points=cost)
                for item_id, cost in disclosure.exchange_offers
            ],
        )
    step_up = None
    if disclosure.steps:
        step_up = StepUpOut(
            steps=[
                StepOut(
                    count=s.count,
                    price_medals=s.price_medals,
                    price_jpy=s.price_jpy,
                    guaranteed_min_rarity=s.guaranteed_min_rarity,
                    guaranteed_table=s.guaranteed_table,
                )
                for s in disclosure.steps
            ],
            repeat=disclosure.steps_repeat,
        )
    return Terms(
        kind=disclosure.kind,
        price_medals=disclosure.price_medals,
        price_jpy=disclosure.price_jpy,
        period=PeriodOut(starts_at=disclosure.starts_at, ends_at=disclosure.ends_at),
        multi=multi,
        pity=pity,
        exchange=exchange,
        limits=LimitsOut(
            max_draws=disclosure.max_draws_per_fan,
            max_draws_per_day=disclosure.max_draws_per_fan_per_day,
        ),
        step_up=step_up,
        odds=Odds(
            version=version.version,
            digest=version.digest,
            effective_at=version.effective_at,
            tables=tables,
            rarity_totals=totals,
        ),
        notice=disclosure.notice,
        expected_cost_flagged=disclosure.cost_flagged,
    )


def version_out(header: Header, version: Scheduled, now: datetime) -> OddsVersionOut:
    return OddsVersionOut(
        version=version.version,
        published_at=version.published_at,
        effective_at=version.effective_at,
        change_note=version.change_note,
        digest=version.digest,
        state=header.version_state(version, now),
    )


def draft_page(
    rows: list[Gacha],
    limit: int,
    *,
    now: datetime,
    versions: Mapping[str, Sequence[OddsVersionRow]],
) -> GachaDraftPage:
    """A page of drafts (``rows`` holds one more than ``limit`` when there is a next page);
    ``versions``: the published versions of those that have some."""
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if more and rows else None
    return GachaDraftPage(
        items=[draft_view(row, now, versions.get(row.id, ())) for row in rows],
        next_cursor=encode_keyset(as_utc(last.created_at), last.id) if last else None,
    )
