"""The catalogue through its HTTP API: drafts → review → published odds versions → the public
disclosure (COMPLIANCE G1–G8), on both backends."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import exc as sa_errors
from sqlalchemy import text

from clocks import MovableClock
from gacha import samples
from gacha.conftest import gacha_context, gacha_services, live_now, with_real_contents
from koepon.app import Platform
from koepon.gacha.errors import GachaNotLive
from koepon.gacha.odds.disclosure import disclose
from koepon.gacha.odds.model import GachaConfig
from koepon.gacha.odds.rates import PERCENT_NOTICE
from payment.fixtures.shop import Fan, signed_in

NO_CANCELLATION = "デジタルコンテンツの性質上、購入後のキャンセル・返品はできません"


@dataclass
class Studio:
    """A VTuber, an operator and the HTTP client: drives the catalogue as people would."""

    client: httpx.AsyncClient
    platform: Platform
    vtuber: Fan
    operator: Fan
    contents: dict[str, dict[str, str]] = field(default_factory=dict)  # vtuber → sample → real

    async def draft(
        self, config: dict[str, Any], *, title: str = "テストガチャ", who: Fan | None = None
    ) -> httpx.Response:
        who = who or self.vtuber
        config = await self.real(config, who)
        return await self.client.post(
            f"/api/v1/vtubers/{who.id}/gachas",
            json={"title": title, "description": "説明", "config": config},
            headers=who.headers,
        )

    async def real(self, config: dict[str, Any], who: Fan | None = None) -> dict[str, Any]:
        """``config`` whose sample contents are real contents of ``who`` (G8 at submission)."""
        who = who or self.vtuber
        known = self.contents.setdefault(who.id, {})
        return await with_real_contents(self.platform, who.id, config, known)

    async def submit(self, gacha_id: str) -> httpx.Response:
        return await self.client.post(
            f"/api/v1/gachas/{gacha_id}/submit", headers=self.vtuber.headers
        )

    async def approve(self, gacha_id: str) -> httpx.Response:
        return await self.client.post(
            f"/api/v1/admin/gachas/{gacha_id}/approve", headers=self.operator.headers
        )

    async def published(self, config: dict[str, Any]) -> str:
        made = await self.draft(config)
        assert made.status_code == 201, made.text
        gacha_id: str = made.json()["id"]
        submitted = await self.submit(gacha_id)
        assert submitted.status_code == 200, submitted.text
        approved = await self.approve(gacha_id)
        assert approved.status_code == 200, approved.text
        return gacha_id

    async def new_version(
        self, gacha_id: str, config: dict[str, Any], effective_at: datetime, note: str = "改定"
    ) -> httpx.Response:
        return await self.client.post(
            f"/api/v1/admin/gachas/{gacha_id}/versions",
            json={
                "config": await self.real(config),
                "effective_at": effective_at.isoformat(),
                "change_note": note,
            },
            headers=self.operator.headers,
        )

    async def team(self, who: Fan | None = None) -> list[dict[str, Any]]:
        who = who or self.vtuber
        listed = await self.client.get(f"/api/v1/vtubers/{who.id}/gachas", headers=who.headers)
        assert listed.status_code == 200, listed.text
        items: list[dict[str, Any]] = listed.json()["items"]
        return items

    def freeze(self, now: datetime) -> MovableClock:
        clock = MovableClock(now)
        gacha_context(self.platform).clock.use(clock)
        return clock


async def account(client: httpx.AsyncClient, platform: Platform, *roles: str) -> Fan:
    return Fan(*await signed_in(client, platform, roles=list(roles) or None))


@pytest.fixture(name="studio")
async def studio_fixture(client: httpx.AsyncClient, platform: Platform) -> Studio:
    return Studio(
        client,
        platform,
        await account(client, platform, "vtuber"),
        await account(client, platform, "compliance"),
    )


def expected_tables(raw: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """What the pure disclosure says each table shows, in draw order."""
    disclosure = disclose(GachaConfig.model_validate(raw))
    return {
        table.name: [
            {
                "item_id": line.item_id,
                "rarity": str(line.rarity),
                "weight": line.weight,
                "rate_ppm": line.rate_ppm,
                "percent": line.percent,
                "expected_cost_jpy": line.expected_cost_jpy,
            }
            for line in table.lines
        ]
        for table in disclosure.tables
    }


def shown_tables(page: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    keys = ("item_id", "rarity", "weight", "rate_ppm", "percent", "expected_cost_jpy")
    return {
        name: [{k: line[k] for k in keys} for line in lines]
        for name, lines in page["odds"]["tables"].items()
    }


# --- the whole flow ---------------------------------------------------------------------


async def test_draft_refused_fixed_submitted_approved_and_disclosed_as_the_pure_disclosure(
    studio: Studio, client: httpx.AsyncClient, platform: Platform
) -> None:
    good = live_now(samples.weighted_raw())
    broken = live_now(samples.weighted_raw())
    broken["items"][7]["stock"] = 5  # a serial item in a weighted gacha (G5)

    made = await studio.draft(broken)
    assert made.status_code == 201, made.text
    draft = made.json()
    gacha_id = draft["id"]
    assert draft["status"] == "draft" and draft["vtuber_id"] == studio.vtuber.id
    assert {"rule": "G5", "path": "items[7].stock"} in [
        {"rule": c["rule"], "path": c["path"]} for c in draft["checks"]
    ]
    # Drafts are invisible to the public.
    assert (await client.get(f"/api/v1/gachas/{gacha_id}")).status_code == 404
    assert (await client.get(f"/api/v1/gachas/{gacha_id}/odds")).status_code == 404

    refused = await studio.submit(gacha_id)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "G5"
    assert any(v["rule"] == "G5" for v in refused.json()["violations"])
    assert (await studio.team())[0]["status"] == "draft"

    fixed = await client.put(
        f"/api/v1/gachas/{gacha_id}",
        json={"title": "星空ガチャ", "description": "", "config": await studio.real(good)},
        headers=studio.vtuber.headers,
    )
    assert fixed.status_code == 200, fixed.text
    assert [c for c in fixed.json()["checks"] if c["severity"] == "refuse"] == []
    submitted = await studio.submit(gacha_id)
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    assert (await client.get(f"/api/v1/gachas/{gacha_id}")).status_code == 404

    queue = await client.get("/api/v1/admin/gachas", headers=studio.operator.headers)
    assert queue.status_code == 200, queue.text
    queued = next(g for g in queue.json()["items"] if g["id"] == gacha_id)
    assert queued["expected_costs"]
    # The sample's UR costs more than 100 draws even with its exchange: flagged (G7), shown.
    assert {c["rule"] for c in queued["checks"]} == {"G7"}

    approved = await studio.approve(gacha_id)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["current_version"] == 1
    again = await studio.approve(gacha_id)
    assert again.status_code == 200 and again.json() == approved.json()

    page = (await client.get(f"/api/v1/gachas/{gacha_id}")).json()
    assert page["state"] == "live" and page["title"] == "星空ガチャ"
    assert page["kind"] == "weighted"
    assert (page["price_medals"], page["price_jpy"]) == (300, 300)
    assert page["multi"] == {
        "count": 10,
        "price_medals": 3000,
        "price_jpy": 3000,
        "guaranteed_min_rarity": "SR",
    }
    assert page["pity"] == {"draws": 200, "min_rarity": "UR"}
    assert page["exchange"]["offers"] == [{"item_id": "signed-ur", "cost_points": 200}]
    assert page["limits"] == {"max_draws": None, "max_draws_per_day": 300}
    assert page["odds"]["version"] == 1
    assert list(page["odds"]["tables"]) == ["main", "guaranteed", "pity"]
    assert shown_tables(page) == expected_tables(good)
    assert page["odds"]["rarity_totals"]["main"][0] == {
        "rarity": "N",
        "rate_ppm": 600_000,
        "percent": "60.0000",
    }
    assert page["notice"] == PERCENT_NOTICE
    assert page["no_cancellation_notice"] == NO_CANCELLATION
    assert page["expected_cost_flagged"] is disclose(GachaConfig.model_validate(good)).cost_flagged
    assert page["announced_version"] is None

    log = (await client.get(f"/api/v1/gachas/{gacha_id}/odds")).json()
    assert [v["version"] for v in log["versions"]] == [1]  # approved twice, one version
    assert log["versions"][0]["state"] == "in_force"
    listed = (await client.get("/api/v1/gachas")).json()["items"]
    assert gacha_id in [g["id"] for g in listed]

    catalog = gacha_services(platform).catalog
    live = await catalog.live(gacha_id)
    assert live.version == 1 and live.config == GachaConfig.model_validate(await studio.real(good))
    async with gacha_context(platform).db.transaction() as session:
        assert (await catalog.in_force(session, gacha_id)).version == 1


# --- every G rule refused by its id -------------------------------------------------------


async def test_each_rule_is_refused_with_its_id_and_g7_is_flagged_not_refused(
    studio: Studio, client: httpx.AsyncClient
) -> None:
    # G1 is refused at once, nothing stored.
    g1 = live_now(samples.weighted_raw())
    g1["set_completion_bonus"] = {"items": ["voice-n1", "voice-n2"], "reward": "signed-ur"}
    refused = await studio.draft(g1)
    assert refused.status_code == 422 and refused.json()["code"] == "G1", refused.text
    g1_nested = live_now(samples.weighted_raw())
    g1_nested["exchange"]["offers"][0]["condition"] = "collect_all"
    assert (await studio.draft(g1_nested)).json()["code"] == "G1"
    assert await studio.team() == []

    cases: dict[str, dict[str, Any]] = {}
    g5 = live_now(samples.weighted_raw())
    g5["items"][0]["stock"] = 10
    cases["G5"] = g5
    g8 = live_now(samples.weighted_raw())
    g8["items"][0]["content_id"] = " "
    cases["G8"] = g8
    too_heavy = live_now(samples.weighted_raw())  # the table's weights sum above 2^32
    too_heavy["main"][0]["weight"] = 2**32
    cases["G3"] = too_heavy
    g2 = live_now(samples.weighted_raw())
    g2["lucky_bag"] = {"count": 3}
    cases["G2"] = g2
    for rule, config in cases.items():
        made = await studio.draft(config)
        assert made.status_code == 201, made.text
        assert rule in {c["rule"] for c in made.json()["checks"]}, (rule, made.json()["checks"])
        submitted = await studio.submit(made.json()["id"])
        assert submitted.status_code == 422, submitted.text
        assert submitted.json()["code"] == rule, submitted.json()
        assert submitted.json()["violations"]

    # A table with no weights at all (odds that sum to nothing) is refused too.
    empty = live_now(samples.weighted_raw())
    empty["main"] = []
    made = await studio.draft(empty)
    refused = await studio.submit(made.json()["id"])
    assert refused.status_code == 422 and refused.json()["code"] in {"G2", "G3"}

    # G7: a very rare item without pity or exchange is flagged, shown, and not refused.
    pricey = live_now(samples.weighted_raw())
    del pricey["pity"], pricey["exchange"]
    pricey["main"][7]["weight"] = 1
    made = await studio.draft(pricey)
    flags = [c for c in made.json()["checks"] if c["rule"] == "G7"]
    assert flags and all(c["severity"] == "flag" for c in flags)
    assert made.json()["expected_cost_flagged"] is True
    gacha_id = made.json()["id"]
    assert (await studio.submit(gacha_id)).status_code == 200
    queue = await client.get("/api/v1/admin/gachas", headers=studio.operator.headers)
    queued = next(g for g in queue.json()["items"] if g["id"] == gacha_id)
    assert queued["expected_cost_flagged"] is True
    assert any(c["flagged"] for c in queued["expected_costs"])
    assert (await studio.approve(gacha_id)).status_code == 200
    page = (await client.get(f"/api/v1/gachas/{gacha_id}")).json()
    assert page["expected_cost_flagged"] is True
    ur = next(x for x in page["odds"]["tables"]["main"] if x["item_id"] == "signed-ur")
    assert ur["expected_cost_flagged"] is True and ur["expected_cost_jpy"] > 50_000


async def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(
    studio: Studio, client: httpx.AsyncClient
) -> None:
    url = f"/api/v1/vtubers/{studio.vtuber.id}/gachas"
    config = live_now(samples.weighted_raw())
    bodies = {
        "title": {"title": "あ" * 201, "config": config},
        "config": {"title": "ok", "config": "not an object"},
        "odds_boost": {"title": "ok", "config": config, "odds_boost": 2},
    }
    for name, body in bodies.items():
        refused = await client.post(url, json=body, headers=studio.vtuber.headers)
        assert refused.status_code == 422, refused.text
        problem = refused.json()
        assert problem["code"] == "validation_failed"
        assert name in problem["detail"] or any(name in e["loc"] for e in problem["errors"])
    no_kind = dict(config, kind="lottery")
    refused = await client.post(
        url, json={"title": "ok", "config": no_kind}, headers=studio.vtuber.headers
    )
    assert refused.status_code == 422 and "kind" in refused.json()["detail"]
    assert await studio.team() == []

    gacha_id = await studio.published(config)
    wrong = await client.post(
        f"/api/v1/admin/gachas/{gacha_id}/versions",
        json={"config": config, "effective_at": "tomorrow", "change_note": "x"},
        headers=studio.operator.headers,
    )
    assert wrong.status_code == 422 and "effective_at" in wrong.json()["detail"]
    naive = await studio.new_version(gacha_id, config, datetime(2030, 1, 1))
    assert naive.status_code == 422 and "effective_at" in naive.json()["detail"]
    rejected = await client.post(
        f"/api/v1/admin/gachas/{gacha_id}/reject", json={}, headers=studio.operator.headers
    )
    assert rejected.status_code == 422 and "reason" in rejected.json()["detail"]
    odds = await client.get(f"/api/v1/gachas/{gacha_id}/odds/zero")
    assert odds.status_code == 422 and "version" in odds.json()["detail"]
    log = (await client.get(f"/api/v1/gachas/{gacha_id}/odds")).json()
    assert len(log["versions"]) == 1


# --- review steps -------------------------------------------------------------------------


async def test_rejected_gachas_go_back_to_their_team_and_steps_follow_the_status(
    studio: Studio, client: httpx.AsyncClient
) -> None:
    config = live_now(samples.weighted_raw())
    gacha_id = (await studio.draft(config)).json()["id"]
    early = await studio.approve(gacha_id)
    assert early.status_code == 409 and early.json()["code"] == "gacha_status_conflict"
    assert (await studio.submit(gacha_id)).status_code == 200
    rejected = await client.post(
        f"/api/v1/admin/gachas/{gacha_id}/reject",
        json={"reason": "サムネイルを差し替えてください"},
        headers=studio.operator.headers,
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["review_note"] == "サムネイルを差し替えてください"
    queue = await client.get(
        "/api/v1/admin/gachas?status=rejected", headers=studio.operator.headers
    )
    assert gacha_id in [g["id"] for g in queue.json()["items"]]

    edited = await client.put(
        f"/api/v1/gachas/{gacha_id}",
        json={"title": "再提出", "config": await studio.real(config)},
        headers=studio.vtuber.headers,
    )
    assert edited.status_code == 200 and edited.json()["status"] == "draft"
    assert (await studio.submit(gacha_id)).status_code == 200
    assert (await studio.approve(gacha_id)).status_code == 200

    frozen = await client.put(
        f"/api/v1/gachas/{gacha_id}",
        json={"title": "変更", "config": config},
        headers=studio.vtuber.headers,
    )
    assert frozen.status_code == 409 and frozen.json()["code"] == "gacha_not_editable"
    assert (await studio.submit(gacha_id)).json()["code"] == "gacha_not_editable"
    late = await client.post(
        f"/api/v1/admin/gachas/{gacha_id}/reject",
        json={"reason": "遅い"},
        headers=studio.operator.headers,
    )
    assert late.status_code == 409
    past = samples.weighted_raw()
    past["period"] = {
        "starts_at": "2020-01-01T00:00:00+09:00",
        "ends_at": "2020-02-01T00:00:00+09:00",
    }
    over = (await studio.draft(past)).json()["id"]
    assert (await studio.submit(over)).status_code == 200
    too_late = await studio.approve(over)
    assert too_late.status_code == 409 and "period ended" in too_late.json()["detail"]
    unknown = await studio.approve("00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == 404 and unknown.json()["code"] == "gacha_not_found"


# --- G4: append-only versions with advance notice --------------------------------------------


async def test_a_live_gachas_new_odds_need_notice_and_every_version_stays_readable(
    studio: Studio, client: httpx.AsyncClient, platform: Platform
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    clock = studio.freeze(now)
    config = live_now(samples.weighted_raw())
    config["period"]["starts_at"] = (now - timedelta(hours=1)).isoformat()
    gacha_id = await studio.published(config)
    catalog = gacha_services(platform).catalog
    assert (await catalog.live(gacha_id)).version == 1  # cached from here on
    before = (await client.get(f"/api/v1/gachas/{gacha_id}")).json()

    changed = live_now(samples.weighted_raw())
    changed["period"] = config["period"]
    changed["main"][0]["weight"] -= 1_000
    changed["main"][7]["weight"] += 1_000  # the UR doubles from 0.3% to 0.4%

    soon = await studio.new_version(gacha_id, changed, now + timedelta(hours=1))
    assert soon.status_code == 422 and soon.json()["code"] == "G4", soon.text
    silent = await studio.new_version(gacha_id, changed, now + timedelta(hours=25), note=" ")
    assert silent.status_code == 422 and silent.json()["code"] == "G4"
    broken = dict(changed, main=[])
    assert (await studio.new_version(gacha_id, broken, now + timedelta(days=2))).status_code == 422
    as_box = live_now(samples.box_raw())
    kind = await studio.new_version(gacha_id, as_box, now + timedelta(days=2))
    assert kind.status_code == 422 and kind.json()["code"] == "gacha_kind_fixed"

    effective = now + timedelta(hours=25)
    announced = await studio.new_version(gacha_id, changed, effective, note="URの排出率を上げます")
    assert announced.status_code == 201, announced.text
    assert announced.json()["version"] == 2 and announced.json()["state"] == "announced"

    # Dropped from the cache at once: the announcement is public now, the odds unchanged.
    page = (await client.get(f"/api/v1/gachas/{gacha_id}")).json()
    assert page["odds"] == before["odds"]
    assert page["announced_version"]["version"] == 2
    assert datetime.fromisoformat(page["announced_version"]["effective_at"]) == effective
    log = (await client.get(f"/api/v1/gachas/{gacha_id}/odds")).json()["versions"]
    assert [(v["version"], v["state"]) for v in log] == [(1, "in_force"), (2, "announced")]
    assert log[1]["change_note"] == "URの排出率を上げます" and len(log[1]["digest"]) == 64
    assert (await catalog.live(gacha_id)).version == 1

    clock.advance(hours=25)
    assert (await catalog.live(gacha_id)).version == 2  # the cached schedule, read at now
    page = (await client.get(f"/api/v1/gachas/{gacha_id}")).json()
    assert page["odds"]["version"] == 2 and page["announced_version"] is None
    assert shown_tables(page) == expected_tables(changed)
    old = await client.get(f"/api/v1/gachas/{gacha_id}/odds/1")
    assert old.status_code == 200 and old.json()["state"] == "superseded"
    assert shown_tables(old.json()) == expected_tables(config)
    assert (await client.get(f"/api/v1/gachas/{gacha_id}/odds/3")).status_code == 404
    log = (await client.get(f"/api/v1/gachas/{gacha_id}/odds")).json()["versions"]
    assert [(v["version"], v["state"]) for v in log] == [(1, "superseded"), (2, "in_force")]


async def test_an_upcoming_gachas_odds_change_without_notice(
    studio: Studio, client: httpx.AsyncClient
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    studio.freeze(now)
    config = samples.weighted_raw()
    config["period"] = {"starts_at": (now + timedelta(days=3)).isoformat(), "ends_at": None}
    gacha_id = await studio.published(config)
    page = (await client.get(f"/api/v1/gachas/{gacha_id}")).json()
    assert page["state"] == "upcoming" and page["odds"]["version"] == 1
    log = (await client.get(f"/api/v1/gachas/{gacha_id}/odds")).json()["versions"]
    assert log[0]["state"] == "announced"
    assert gacha_id in [g["id"] for g in (await client.get("/api/v1/gachas")).json()["items"]]
    # Not live: no notice needed, but still not before version 1 takes effect.
    early = await studio.new_version(gacha_id, config, now + timedelta(hours=1))
    assert early.status_code == 422 and early.json()["code"] == "G4"
    ok = await studio.new_version(gacha_id, config, now + timedelta(days=3))
    assert ok.status_code == 201, ok.text


async def test_odds_version_rows_cannot_be_updated_or_deleted_in_the_database(
    studio: Studio, platform: Platform
) -> None:
    gacha_id = await studio.published(live_now(samples.weighted_raw()))
    db = gacha_context(platform).db
    for statement in (
        "UPDATE gacha_odds_versions SET change_note = 'rewritten' WHERE gacha_id = :id",
        "DELETE FROM gacha_odds_versions WHERE gacha_id = :id",
    ):
        with pytest.raises(sa_errors.DBAPIError, match="append-only"):
            async with db.transaction() as session:
                await session.execute(text(statement), {"id": gacha_id})
    async with db.transaction() as session:
        rows = await session.execute(
            text("SELECT change_note FROM gacha_odds_versions WHERE gacha_id = :id"),
            {"id": gacha_id},
        )
        assert [r[0] for r in rows] == [""]


# --- caching --------------------------------------------------------------------------------


async def test_ending_or_the_period_ending_stops_a_cached_gacha_at_once(
    studio: Studio, client: httpx.AsyncClient, platform: Platform
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    clock = studio.freeze(now)
    catalog = gacha_services(platform).catalog
    config = samples.weighted_raw()
    config["period"] = {
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(hours=2)).isoformat(),
    }
    timed = await studio.published(config)
    ended = await studio.published(live_now(samples.weighted_raw()))
    for gacha_id in (timed, ended):
        await catalog.live(gacha_id)  # cached now
        assert (await client.get(f"/api/v1/gachas/{gacha_id}")).json()["state"] == "live"

    done = await client.post(f"/api/v1/admin/gachas/{ended}/end", headers=studio.operator.headers)
    assert done.status_code == 200 and done.json()["status"] == "ended"
    with pytest.raises(GachaNotLive):
        await catalog.live(ended)
    page = (await client.get(f"/api/v1/gachas/{ended}")).json()
    assert page["state"] == "ended"  # still readable, with its odds
    assert ended not in [g["id"] for g in (await client.get("/api/v1/gachas")).json()["items"]]
    again = await client.post(f"/api/v1/admin/gachas/{ended}/end", headers=studio.operator.headers)
    assert again.status_code == 200
    no_more = await studio.new_version(ended, config, now + timedelta(days=2))
    assert no_more.status_code == 409

    clock.advance(hours=2)
    with pytest.raises(GachaNotLive):
        await catalog.live(timed)
    assert (await client.get(f"/api/v1/gachas/{timed}")).json()["state"] == "ended"
    async with gacha_context(platform).db.transaction() as session:
        with pytest.raises(GachaNotLive):
            await catalog.in_force(session, timed)


# --- box stock ---------------------------------------------------------------------------------


async def test_a_box_shows_its_stock_live_and_its_contents_never_change(
    studio: Studio, client: httpx.AsyncClient, platform: Platform
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    studio.freeze(now)
    config = live_now(samples.box_raw())
    gacha_id = await studio.published(config)
    page = (await client.get(f"/api/v1/gachas/{gacha_id}")).json()
    assert page["kind"] == "box" and list(page["odds"]["tables"]) == ["box"]
    stock = [(x["item_id"], x["remaining"], x["total"]) for x in page["odds"]["tables"]["box"]]
    assert stock == [("photo-signed", 2, 2), ("voice-a", 6, 6), ("voice-b", 12, 12)]
    assert all(x["weight"] is None for x in page["odds"]["tables"]["box"])

    catalog = gacha_services(platform).catalog
    db = gacha_context(platform).db
    async with db.transaction() as session:
        taken = await catalog.take_from_box(session, gacha_id)
        assert list(taken.items()) == [("photo-signed", 2), ("voice-a", 6), ("voice-b", 12)]
        await catalog.set_box_remaining(
            session, gacha_id, {"photo-signed": 1, "voice-a": 6, "voice-b": 3}
        )
    page = (await client.get(f"/api/v1/gachas/{gacha_id}")).json()
    lines = page["odds"]["tables"]["box"]
    assert [x["remaining"] for x in lines] == [1, 6, 3]
    expected = disclose(
        GachaConfig.model_validate(config),
        box_remaining={"photo-signed": 1, "voice-a": 6, "voice-b": 3},
    )
    assert [x["percent"] for x in lines] == [line.percent for line in expected.tables[0].lines]
    async with db.transaction() as session:
        await catalog.return_to_box(session, gacha_id, ["voice-b", "voice-b"])
    page = (await client.get(f"/api/v1/gachas/{gacha_id}")).json()
    assert [x["remaining"] for x in page["odds"]["tables"]["box"]] == [1, 6, 5]

    bigger = live_now(samples.box_raw())
    bigger["box"][2]["count"] = 20
    locked = await studio.new_version(gacha_id, bigger, now + timedelta(days=2))
    assert locked.status_code == 409 and locked.json()["code"] == "box_composition_locked"
    cheaper = live_now(samples.box_raw())
    cheaper["price_medals"] = cheaper["price_jpy"] = 400
    accepted = await studio.new_version(gacha_id, cheaper, now + timedelta(days=2))
    assert accepted.status_code == 201, accepted.text


# --- who may do what ------------------------------------------------------------------------


async def test_authoring_and_review_are_refused_to_whoever_may_not(
    studio: Studio, client: httpx.AsyncClient, platform: Platform
) -> None:
    config = live_now(samples.weighted_raw())
    draft_id = (await studio.draft(config)).json()["id"]
    fan = await account(client, platform)
    other_vtuber = await account(client, platform, "vtuber")
    support = await account(client, platform, "support")
    admin = await account(client, platform, "admin")
    body = {"title": "t", "config": config}
    own = studio.vtuber.id
    authoring = [
        ("POST", f"/api/v1/vtubers/{own}/gachas", body),
        ("GET", f"/api/v1/vtubers/{own}/gachas", None),
        ("PUT", f"/api/v1/gachas/{draft_id}", body),
        ("POST", f"/api/v1/gachas/{draft_id}/submit", None),
    ]
    operating = [
        ("GET", "/api/v1/admin/gachas", None),
        ("POST", f"/api/v1/admin/gachas/{draft_id}/approve", None),
        ("POST", f"/api/v1/admin/gachas/{draft_id}/reject", {"reason": "x"}),
        (
            "POST",
            f"/api/v1/admin/gachas/{draft_id}/versions",
            {"config": config, "effective_at": "2030-01-01T00:00:00+09:00", "change_note": "x"},
        ),
        ("POST", f"/api/v1/admin/gachas/{draft_id}/end", None),
    ]
    for method, url, payload in authoring + operating:
        anonymous = await client.request(method, url, json=payload)
        assert anonymous.status_code == 401, (method, url, anonymous.text)
    for method, url, payload in operating:
        for who in (fan, studio.vtuber, support):
            refused = await client.request(method, url, json=payload, headers=who.headers)
            assert refused.status_code == 403, (method, url, refused.text)

    # Outside the VTuber's team (a fan, another VTuber's owner, support): 403 for the VTuber's
    # id, and its draft does not exist for them.
    for who in (fan, other_vtuber, support):
        for method, url, payload in authoring[:2]:
            refused = await client.request(method, url, json=payload, headers=who.headers)
            assert refused.status_code == 403, (method, url, refused.text)
            assert refused.json()["code"] == "authoring_forbidden"
        for method, url, payload in authoring[2:]:
            hidden = await client.request(method, url, json=payload, headers=who.headers)
            assert hidden.status_code == 404, (method, url, hidden.text)
    assert await studio.team(other_vtuber) == []
    assert (await studio.team())[0]["id"] == draft_id

    # Drafts are invisible to the public.
    assert (await client.get(f"/api/v1/gachas/{draft_id}")).status_code == 404
    assert (await client.get(f"/api/v1/gachas/{draft_id}/odds/1")).status_code == 404
    assert draft_id not in [g["id"] for g in (await client.get("/api/v1/gachas")).json()["items"]]

    # An admin authors for any VTuber and sees their list; compliance reviews.
    made = await client.post(
        f"/api/v1/vtubers/{other_vtuber.id}/gachas", json=body, headers=admin.headers
    )
    assert made.status_code == 201, made.text
    assert (await studio.team(other_vtuber))[0]["id"] == made.json()["id"]
    listed = await client.get(f"/api/v1/vtubers/{own}/gachas", headers=admin.headers)
    assert listed.status_code == 200 and listed.json()["items"]
    assert (await studio.submit(draft_id)).status_code == 200
    assert (await studio.approve(draft_id)).status_code == 200  # compliance
    page = await client.get(f"/api/v1/gachas/{draft_id}")
    assert page.status_code == 200


async def test_the_public_catalogue_pages_live_and_upcoming_gachas(
    studio: Studio, client: httpx.AsyncClient
) -> None:
    made = [await studio.published(live_now(samples.weighted_raw())) for _ in range(3)]
    first = await client.get("/api/v1/gachas?limit=2")
    assert first.status_code == 200, first.text
    assert [g["id"] for g in first.json()["items"]] == made[::-1][:2]
    cursor = first.json()["next_cursor"]
    second = (await client.get("/api/v1/gachas", params={"limit": 2, "cursor": cursor})).json()
    assert [g["id"] for g in second["items"]] == made[:1] and second["next_cursor"] is None
    summary = first.json()["items"][0]
    assert summary["state"] == "live" and summary["multi_price_medals"] == 3000
    bad = await client.get("/api/v1/gachas?cursor=nonsense")
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_cursor"
