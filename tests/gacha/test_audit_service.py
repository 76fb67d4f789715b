"""Rate audits (COMPLIANCE G9): the public audit of a gacha and the nightly alerts.

Draws and their slots are written straight into the draw tables (as a completed saga writes
them), with outcomes from the real provably-fair RNG, so these tests need no draw endpoint.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from structlog.testing import capture_logs

from clocks import MovableClock
from gacha import samples
from gacha.conftest import Desk, gacha_context, gacha_services, live_now
from koepon.app import Platform
from koepon.contracts.gacha import DrawAuditAlert
from koepon.gacha.audit.service import Audits, table_audit
from koepon.gacha.audit.tasks import NightlyAudit
from koepon.gacha.catalog.models import OddsVersionRow
from koepon.gacha.context import GachaContext
from koepon.gacha.draws.models import Draw, DrawSlot
from koepon.gacha.draws.outcomes import draw
from koepon.gacha.draws.repository import SlotCount
from koepon.gacha.errors import GachaNotFound, OddsVersionNotFound
from koepon.gacha.odds.model import GachaConfig, Rarity
from koepon.gacha.odds.slots import PityState, published_tables
from koepon.kernel.clock import JST

SEED = bytes(range(32))
# 03:00 JST on 10 March 2027 (the default audit hour), as a UTC instant.
AUDIT_TIME = datetime(2027, 3, 10, 3, 0, tzinfo=JST).astimezone(UTC)


class PublishedVersions:
    """A catalogue reading the published odds versions, until ``Catalog.version_config`` is
    written (the audit needs nothing else of the catalogue)."""

    async def version_config(
        self, session: AsyncSession, gacha_id: str, version: int
    ) -> GachaConfig:
        row = await session.get(OddsVersionRow, (gacha_id, version))
        if row is None:
            raise OddsVersionNotFound(f"no gacha {gacha_id} with odds version {version}")
        return GachaConfig.model_validate(row.config)


def fair_draws(config: GachaConfig, *, tens: int, client_seed: str = "fan") -> list[list[Any]]:
    """``tens`` 10連 of one fan with the real RNG, pity carried from draw to draw."""
    state, nonce, out = PityState(), 0, []
    for _ in range(tens):
        outcome = draw(
            config,
            count=10,
            server_seed=SEED,
            client_seed=client_seed,
            first_nonce=nonce,
            pity_state=state,
        )
        state, nonce = outcome.pity_state, outcome.next_nonce
        out.append(list(outcome.slots))
    return out


def stingy(config: GachaConfig, draws: list[list[Any]]) -> list[list[Any]]:
    """The same draws with every SSR and UR of the main table turned into a common item."""
    common = next(i.item_id for i in config.items if i.rarity == Rarity.N)
    return [
        [
            s.__class__(s.nonce, s.table, common, Rarity.N)
            if s.table == "main" and s.rarity in (Rarity.SSR, Rarity.UR)
            else s
            for s in slots
        ]
        for slots in draws
    ]


async def record(
    ctx: GachaContext,
    gacha_id: str,
    draws: list[list[Any]],
    *,
    completed_at: datetime,
    version: int = 1,
) -> None:
    """Write completed draws and their slots as the saga does."""
    draw_rows: list[dict[str, Any]] = []
    slot_rows: list[dict[str, Any]] = []
    for slots in draws:
        draw_id = str(uuid.uuid4())
        draw_rows.append(
            {
                "id": draw_id,
                "user_id": "fan-audit",
                "idempotency_key": draw_id,
                "fingerprint": "0" * 64,
                "gacha_id": gacha_id,
                "vtuber_id": "vt-demo",
                "count": len(slots),
                "price_medals": 3000,
                "status": "completed",
                "odds_version": version,
                "first_nonce": slots[0].nonce,
                "results": [s.as_record() for s in slots],
                "points_earned": 0,
                "month": "2027-03",
                "day": "2027-03-09",
                "attempts": 1,
                "requested_at": completed_at,
                "updated_at": completed_at,
                "completed_at": completed_at,
            }
        )
        slot_rows.extend(
            {
                "draw_id": draw_id,
                "slot": index,
                "gacha_id": gacha_id,
                "odds_version": version,
                "table": s.table,
                "item_id": s.item_id,
                "rarity": s.rarity.value,
                "nonce": s.nonce,
            }
            for index, s in enumerate(slots)
        )
    async with ctx.db.transaction() as session:
        await session.execute(insert(Draw), draw_rows)
        await session.execute(insert(DrawSlot), slot_rows)


async def alert_events(ctx: GachaContext) -> list[dict[str, Any]]:
    outbox = ctx.outbox.table
    async with ctx.db.transaction(read_only=True) as session:
        rows = await session.execute(
            select(outbox.c.payload).where(outbox.c.topic == DrawAuditAlert.topic)
        )
        return [row[0] for row in rows]


def audits_of(platform: Platform) -> tuple[GachaContext, Audits, NightlyAudit]:
    """An audit service on the platform's gacha context reading published versions directly."""
    ctx = gacha_context(platform)
    audits = Audits(ctx, PublishedVersions())
    return ctx, audits, NightlyAudit(audits)


# --- pure: one table -------------------------------------------------------------------------


def _counts(config: GachaConfig, draws: list[list[Any]], table: str) -> list[SlotCount]:
    seen: dict[str, int] = {}
    for slots in draws:
        for s in slots:
            if s.table == table:
                seen[s.item_id] = seen.get(s.item_id, 0) + 1
    return [SlotCount(1, table, i, config.rarity_of(i).value, n) for i, n in seen.items()]


def test_a_fair_table_audits_clean_with_rates_in_ppm_and_p_values_as_decimal_strings() -> None:
    config = samples.weighted()
    draws = fair_draws(config, tens=300)
    main = published_tables(config)["main"]
    result = table_audit(config, "main", main, _counts(config, draws, "main"), alpha=0.001)
    assert result.draws == sum(1 for slots in draws for s in slots if s.table == "main")
    assert not result.below_alpha
    assert [t.rarity for t in result.tiers] == ["N", "R", "SR", "SSR", "UR"]
    ssr = next(t for t in result.tiers if t.rarity == "SSR")
    assert ssr.declared_rate_ppm == 27_000 and ssr.binomial_p is not None
    assert Decimal(ssr.binomial_p) > Decimal("0.001")
    assert {t.test for t in result.tests} == {"chi_square", "binomial:SSR", "binomial:UR"}
    for test in result.tests:
        assert Decimal(test.p_value) >= 0 and isinstance(test.p_value, str)
    assert sum(i.observed for i in result.items) == result.draws
    assert next(i for i in result.items if i.item_id == "signed-ur").declared_rate_ppm == 3_000


def test_an_outcome_the_table_cannot_give_is_listed_and_fails_the_chi_square() -> None:
    config = samples.weighted()
    guaranteed = published_tables(config)["guaranteed"]
    counts = [
        SlotCount(1, "guaranteed", "illust-sr1", "SR", 50),
        SlotCount(1, "guaranteed", "voice-n1", "N", 1),  # N is not in the SR-or-better table
    ]
    result = table_audit(config, "guaranteed", guaranteed, counts, alpha=0.001)
    assert result.below_alpha
    chi = next(t for t in result.tests if t.kind == "chi_square")
    assert Decimal(chi.p_value) == 0
    n = next(t for t in result.tiers if t.rarity == "N")
    assert (n.declared_weight, n.observed) == (0, 1)


def test_a_table_without_draws_reports_no_test() -> None:
    config = samples.weighted()
    pity = published_tables(config)["pity"]
    result = table_audit(config, "pity", pity, [], alpha=0.001)
    assert result.draws == 0 and result.tests == [] and not result.below_alpha


# --- the service on both backends ------------------------------------------------------------


async def test_a_fair_sample_is_audited_per_version_and_table_and_raises_no_alert(
    platform: Platform, desk: Desk
) -> None:
    ctx, audits, nightly = audits_of(platform)
    config = samples.weighted()
    gacha_id = await desk.publish(live_now(samples.weighted_raw()))
    clock = MovableClock(AUDIT_TIME)
    ctx.clock.use(clock)
    await record(
        ctx, gacha_id, fair_draws(config, tens=300), completed_at=AUDIT_TIME - timedelta(days=1)
    )

    async with ctx.db.transaction(read_only=True) as session:
        result = await audits.audit(session, gacha_id)
    assert result.kind == "weighted" and result.alpha == "0.001"
    assert [v.odds_version for v in result.versions] == [1]
    tables = {t.table: t for t in result.versions[0].tables}
    assert set(tables) == {"main", "guaranteed", "pity"}
    # The 10th slot of every 10連, unless the ceiling took it (pity comes first).
    assert 290 <= tables["guaranteed"].draws <= 300
    assert sum(t.draws for t in tables.values()) == 3_000
    assert not result.below_alpha

    with capture_logs() as logs:
        run = await nightly.run_if_due()
    assert run is not None and run.gachas == 1 and run.alerts == [] and run.failed == []
    assert not [e for e in logs if e["event"] == "gacha.audit.alert"]
    assert await alert_events(ctx) == []


async def test_a_biased_sample_alerts_once_a_day_through_the_outbox(
    platform: Platform, desk: Desk
) -> None:
    ctx, audits, nightly = audits_of(platform)
    config = samples.weighted()
    gacha_id = await desk.publish(live_now(samples.weighted_raw()))
    clock = MovableClock(AUDIT_TIME - timedelta(hours=1))  # 02:00 JST: not yet time
    ctx.clock.use(clock)
    biased = stingy(config, fair_draws(config, tens=300))
    await record(ctx, gacha_id, biased, completed_at=AUDIT_TIME - timedelta(days=2))

    assert await nightly.run_if_due() is None
    clock.advance(hours=1)
    with capture_logs() as logs:
        run = await nightly.run_if_due()
    assert run is not None and run.day == "2027-03-10"
    # Alerts are claimed per (gacha, version, table, test, day): whoever published them, each
    # is in the outbox once (the platform's own nightly job may run beside this one).
    events = await alert_events(ctx)
    keys = {(e["gacha_id"], e["odds_version"], e["table"], e["test"]) for e in events}
    assert len(keys) == len(events) == len(run.alerts) + run.repeated
    assert (gacha_id, 1, "main", "binomial:SSR") in keys
    assert (gacha_id, 1, "main", "chi_square") in keys
    assert all(e["table"] == "main" for e in events)  # the guaranteed slots were fair
    ssr = next(e for e in events if e["test"] == "binomial:SSR")
    assert Decimal(ssr["p_value"]) < Decimal("0.001") and ssr["draws"] > 2_000
    logged = [e for e in logs if e["event"] == "gacha.audit.alert"]
    assert all(e["log_level"] == "warning" for e in logged)
    assert {(e["table"], e["test"]) for e in logged} >= {(a.table, a.test) for a in run.alerts}

    # The same day again (a restart, a second process): nothing new.
    nightly.last_day = None
    again = await nightly.run_if_due()
    assert again is not None and again.alerts == [] and again.repeated == len(events)
    assert len(await alert_events(ctx)) == len(events)
    assert await nightly.run_if_due() is None  # done for today

    # The public answer says so too.
    async with ctx.db.transaction(read_only=True) as session:
        result = await audits.audit(session, gacha_id)
    assert result.below_alpha

    # The next night audits again and alerts again (the tables are still wrong).
    clock.advance(days=1)
    next_night = await nightly.run_if_due()
    assert next_night is not None and next_night.day == "2027-03-11"
    assert len(await alert_events(ctx)) == 2 * len(events)

    # A week without draws: nothing left to audit.
    clock.advance(days=8)
    quiet = await nightly.run_if_due()
    assert quiet is not None and quiet.gachas == 0


async def test_an_unknown_gacha_is_not_found(platform: Platform) -> None:
    ctx, audits, _ = audits_of(platform)
    with pytest.raises(GachaNotFound):
        async with ctx.db.transaction(read_only=True) as session:
            await audits.audit(session, str(uuid.uuid4()))


# --- HTTP ------------------------------------------------------------------------------------


async def _real_or_stand_in_catalog(platform: Platform, gacha_id: str) -> None:
    """Until ``Catalog.version_config`` is written, the platform's audit reads the published
    versions through ``PublishedVersions``."""
    audits = gacha_services(platform).audits
    ctx = gacha_context(platform)
    try:
        async with ctx.db.transaction(read_only=True) as session:
            await audits.catalog.version_config(session, gacha_id, 1)
    except NotImplementedError:
        audits.catalog = PublishedVersions()
    except (GachaNotFound, OddsVersionNotFound):
        pass


async def test_the_audit_is_public_and_answers_declared_and_observed_rates(
    platform: Platform, desk: Desk
) -> None:
    ctx = gacha_context(platform)
    config = samples.weighted()
    gacha_id = await desk.publish(live_now(samples.weighted_raw()))
    await _real_or_stand_in_catalog(platform, gacha_id)
    await record(ctx, gacha_id, fair_draws(config, tens=50), completed_at=datetime.now(UTC))

    answer = await desk.client.get(f"/api/v1/gachas/{gacha_id}/audit")  # no token
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["gacha_id"] == gacha_id and body["below_alpha"] is False
    assert body["alpha"] == "0.001" and body["rare_rate_ppm"] == 50_000
    (version,) = body["versions"]
    main = next(t for t in version["tables"] if t["table"] == "main")
    assert main["draws"] > 400
    for tier in main["tiers"]:
        assert isinstance(tier["declared_rate_ppm"], int) and isinstance(tier["expected"], str)
    for test in main["tests"]:
        assert isinstance(test["p_value"], str)
        Decimal(test["p_value"])

    # Cached briefly: more draws show within a minute, not at once.
    await record(
        ctx,
        gacha_id,
        fair_draws(config, tens=5, client_seed="other"),
        completed_at=datetime.now(UTC),
    )
    cached = await desk.client.get(f"/api/v1/gachas/{gacha_id}/audit")
    assert cached.json()["versions"] == body["versions"]

    # Any signed-in caller gets the same public answer.
    fan = await desk.fan()
    signed = await desk.client.get(f"/api/v1/gachas/{gacha_id}/audit", headers=fan.headers)
    assert signed.status_code == 200 and signed.json()["versions"] == body["versions"]


async def test_a_box_is_not_rate_audited_and_says_why(platform: Platform, desk: Desk) -> None:
    gacha_id = await desk.publish(live_now(samples.box_raw()))
    await _real_or_stand_in_catalog(platform, gacha_id)
    answer = await desk.client.get(f"/api/v1/gachas/{gacha_id}/audit")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["kind"] == "box" and body["versions"] == []
    assert "without replacement" in body["not_audited"][0]


async def test_the_audit_of_an_unknown_gacha_is_a_404(platform: Platform, desk: Desk) -> None:
    await _real_or_stand_in_catalog(platform, "none")
    answer = await desk.client.get(f"/api/v1/gachas/{uuid.uuid4()}/audit")
    assert answer.status_code == 404, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "gacha_not_found"
    too_long = await desk.client.get(f"/api/v1/gachas/{'x' * 65}/audit")
    assert too_long.status_code == 422
