"""Rate audits (COMPLIANCE G9): every weighted table of every odds version of a gacha, declared
rates against the completed slots drawn from it, with the statistical tests of
``audit.statistics`` (chi-square on tiers, exact binomial tests on rare tiers).

The public answer is cached briefly; the nightly audit (``tasks.py``) publishes a
``DrawAuditAlert`` for each test below alpha, at most once per (gacha, version, table, test,
JST day): the claim is a row of the gacha inbox written in the alert's own transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from koepon.contracts.gacha import DrawAuditAlert
from koepon.gacha.audit.schemas import (
    Alert,
    GachaAudit,
    ItemRate,
    TableAudit,
    TestResult,
    TierRate,
    VersionAudit,
)
from koepon.gacha.audit.statistics import RARE_RATE, audit
from koepon.gacha.context import GachaContext
from koepon.gacha.draws import repository as draws
from koepon.gacha.errors import GachaNotFound, OddsVersionNotFound
from koepon.gacha.odds.model import GachaConfig, Weight
from koepon.gacha.odds.rates import rarity_totals
from koepon.gacha.odds.slots import published_tables

log = structlog.get_logger(__name__)

CACHE_SECONDS = 60
ALERT_CLAIMS = "gacha.audit.alert"  # the inbox "consumer" under which alerts are claimed
BOX_NOTE = (
    "box: drawn without replacement from the remaining stock (its odds change with every "
    "draw, and an emptied box gave exactly what it held), so it is not rate-audited"
)


class DeclaredOdds(Protocol):
    """What an audit needs of the catalogue: a published version's frozen configuration,
    raising ``GachaNotFound`` for a gacha (or version) that was never published."""

    async def version_config(
        self, session: AsyncSession, gacha_id: str, version: int
    ) -> GachaConfig: ...


def decimal_string(value: float) -> str:
    """A float p-value or statistic as a decimal string of six significant digits."""
    return str(Decimal(f"{value:.6g}"))


def _fraction_string(value: Fraction, places: int = 2) -> str:
    quantum = Decimal(1).scaleb(-places)
    return str((Decimal(value.numerator) / Decimal(value.denominator)).quantize(quantum))


def parse_alpha(raw: str) -> Decimal:
    """``KOEPON_AUDIT_ALPHA`` as a decimal strictly between 0 and 1."""
    try:
        alpha = Decimal(raw)
    except InvalidOperation:
        alpha = Decimal(-1)
    if not (alpha.is_finite() and 0 < alpha < 1):
        raise ValueError(f"KOEPON_AUDIT_ALPHA must be a decimal between 0 and 1, got {raw!r}")
    return alpha


def _ppm(part: int, whole: int) -> int:
    return part * 1_000_000 // whole if whole else 0


def table_audit(
    config: GachaConfig,
    table: str,
    lines: Sequence[Weight],
    observed: Iterable[draws.SlotCount],
    *,
    alpha: float,
) -> TableAudit:
    """Declared vs observed for one table (pure: counts in, figures out). An outcome the table
    cannot produce is listed with a declared weight of 0 and makes the chi-square's p 0."""
    counts: dict[str, int] = defaultdict(int)
    recorded_rarity: dict[str, str] = {}
    for slot in observed:
        counts[slot.item_id] += slot.count
        recorded_rarity[slot.item_id] = slot.rarity

    def rarity(item_id: str) -> str:
        item = config.item(item_id)
        return item.rarity.value if item is not None else recorded_rarity[item_id]

    declared_items = {line.item_id: line.weight for line in lines}
    for item_id in counts:
        declared_items.setdefault(item_id, 0)
    tiers = rarity_totals((config.rarity_of(line.item_id), line.weight) for line in lines)
    declared_tiers = {tier.value: weight for tier, weight in tiers.items()}
    observed_tiers: dict[str, int] = defaultdict(int)
    for item_id, seen in counts.items():
        observed_tiers[rarity(item_id)] += seen
    for tier in observed_tiers:
        declared_tiers.setdefault(tier, 0)

    report = audit(declared_tiers, dict(observed_tiers), alert_p=alpha)
    total = sum(declared_items.values())
    tests: list[TestResult] = []
    if report.chi_square_p is not None:
        tests.append(
            TestResult(
                test="chi_square",
                kind="chi_square",
                statistic=decimal_string(report.chi_square)
                if report.chi_square is not None
                else None,
                degrees_of_freedom=report.degrees_of_freedom,
                p_value=decimal_string(report.chi_square_p),
                below_alpha=report.chi_square_p < alpha,
            )
        )
    for row in report.rows:
        if row.binomial_p is not None:
            tests.append(
                TestResult(
                    test=f"binomial:{row.key}",
                    kind="binomial",
                    rarity=row.key,
                    p_value=decimal_string(row.binomial_p),
                    below_alpha=row.binomial_p < alpha,
                )
            )
    return TableAudit(
        table=table,
        draws=report.draws,
        tiers=[
            TierRate(
                rarity=row.key,
                declared_weight=declared_tiers[row.key],
                declared_rate_ppm=row.declared_ppm,
                observed=row.observed,
                observed_rate_ppm=row.observed_ppm,
                expected=_fraction_string(row.expected),
                binomial_p=decimal_string(row.binomial_p) if row.binomial_p is not None else None,
            )
            for row in report.rows
        ],
        items=[
            ItemRate(
                item_id=item_id,
                rarity=rarity(item_id),
                declared_weight=weight,
                declared_rate_ppm=_ppm(weight, total),
                observed=counts.get(item_id, 0),
                observed_rate_ppm=_ppm(counts.get(item_id, 0), report.draws),
            )
            for item_id, weight in declared_items.items()
        ],
        tests=tests,
        below_alpha=any(test.below_alpha for test in tests),
    )


class Audits:
    """The public audit of a gacha and the alerts of the nightly audit."""

    def __init__(self, ctx: GachaContext, catalog: DeclaredOdds) -> None:
        self.ctx = ctx
        self.catalog = catalog
        self.alpha = parse_alpha(ctx.gacha_settings.audit_alpha)

    @staticmethod
    def cache_key(gacha_id: str) -> str:
        return f"gacha:audit:{gacha_id}"

    async def audit(self, session: AsyncSession, gacha_id: str) -> GachaAudit:
        """Every weighted table of every odds version that has completed slots. Raises
        ``GachaNotFound`` for a gacha that was never published (every published gacha has an
        odds version 1)."""
        observed = await draws.slot_counts(session, gacha_id)
        by_version: dict[int, dict[str, list[draws.SlotCount]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for row in observed:
            by_version[row.odds_version][row.table].append(row)
        try:
            first = await self.catalog.version_config(session, gacha_id, 1)
        except OddsVersionNotFound:
            raise GachaNotFound(f"No published gacha {gacha_id}", gacha_id=gacha_id) from None
        alpha = float(self.alpha)
        versions: list[VersionAudit] = []
        not_audited: list[str] = []
        kinds = {first.kind}
        for version in sorted(by_version):
            config = (
                first
                if version == 1
                else await self.catalog.version_config(session, gacha_id, version)
            )
            kinds.add(config.kind)
            tables = published_tables(config)
            seen = by_version[version]
            audits = [
                table_audit(config, name, lines, seen.get(name, ()), alpha=alpha)
                for name, lines in tables.items()
            ]
            for name in sorted(set(seen) - set(tables)):
                if name != "box":
                    slots = sum(row.count for row in seen[name])
                    not_audited.append(
                        f"version {version}: {slots} slots recorded from table {name!r}, "
                        "which this version does not declare"
                    )
            if audits:
                versions.append(VersionAudit(odds_version=version, tables=audits))
        if "box" in kinds:
            not_audited.insert(0, BOX_NOTE)
        return GachaAudit(
            gacha_id=gacha_id,
            kind="box" if first.kind == "box" else "weighted",
            alpha=str(self.alpha),
            rare_rate_ppm=int(RARE_RATE * 1_000_000),
            versions=versions,
            below_alpha=any(t.below_alpha for v in versions for t in v.tables),
            not_audited=not_audited,
            checked_at=self.ctx.now(),
        )

    async def report(self, gacha_id: str) -> GachaAudit:
        """The public audit, cached ``CACHE_SECONDS`` (a cache that fails costs a recount)."""
        key = self.cache_key(gacha_id)
        try:
            raw = await self.ctx.cache.get(key)
        except Exception as exc:
            log.warning("gacha.audit.cache_unavailable", error=repr(exc))
            raw = None
        if raw:
            return GachaAudit.model_validate_json(raw)
        async with self.ctx.db.transaction(read_only=True) as session:
            answer = await self.audit(session, gacha_id)
        try:
            await self.ctx.cache.set(key, answer.model_dump_json().encode(), CACHE_SECONDS)
        except Exception as exc:
            log.warning("gacha.audit.cache_unavailable", error=repr(exc))
        return answer

    async def recently_drawn(self, since: datetime) -> list[str]:
        """Gachas with draws completed since ``since`` (the nightly audit's work list)."""
        async with self.ctx.db.transaction(read_only=True) as session:
            return await draws.drawn_gacha_ids(session, since=since)

    async def alert(self, gacha_id: str, *, day: date) -> tuple[list[Alert], int]:
        """Audit ``gacha_id`` now and publish a ``DrawAuditAlert`` for every test below alpha
        not yet alerted on JST ``day``. Returns (alerts published, alerts already given)."""
        async with self.ctx.db.transaction(read_only=True) as session:
            result = await self.audit(session, gacha_id)
        published: list[Alert] = []
        repeated = 0
        for version in result.versions:
            for table in version.tables:
                for test in table.tests:
                    if not test.below_alpha:
                        continue
                    alert = Alert(
                        gacha_id=gacha_id,
                        odds_version=version.odds_version,
                        table=table.table,
                        test=test.test,
                        p_value=test.p_value,
                        draws=table.draws,
                    )
                    if await self._publish(alert, day=day, checked_at=result.checked_at):
                        published.append(alert)
                    else:
                        repeated += 1
        return published, repeated

    async def _publish(self, alert: Alert, *, day: date, checked_at: datetime) -> bool:
        """The alert's event through the outbox, unless it was already given that day."""
        claim = (
            f"{alert.gacha_id}:{alert.odds_version}:{alert.table}:{alert.test}:{day.isoformat()}"
        )
        async with self.ctx.db.transaction() as session:
            if not await self.ctx.inbox.claim(
                session, consumer=ALERT_CLAIMS, message_id=claim, topic=DrawAuditAlert.topic
            ):
                return False
            await self.ctx.outbox.add(
                session,
                DrawAuditAlert(
                    gacha_id=alert.gacha_id,
                    odds_version=alert.odds_version,
                    table=alert.table,
                    test=alert.test,
                    p_value=alert.p_value,
                    draws=alert.draws,
                    checked_at=checked_at,
                ),
            )
        log.warning(
            "gacha.audit.alert",
            gacha_id=alert.gacha_id,
            odds_version=alert.odds_version,
            table=alert.table,
            test=alert.test,
            p_value=alert.p_value,
            draws=alert.draws,
            alpha=str(self.alpha),
        )
        return True
