"""Odds changes proposed by a VTuber's team (COMPLIANCE G4 through review), over HTTP: propose →
submit (refused for a G rule, then fixed) → the operators' queue with checks and both tables'
expected costs → approve (the next odds version, announced with the advance notice) or reject;
one open proposal per gacha, stale proposals refused, who may take each step, and nothing
stored while the VTuber service cannot be asked."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from gacha import samples
from gacha.conftest import Desk, VtuberServiceDown, gacha_context, team_member
from gacha.test_catalog import Studio, account, studio_fixture  # noqa: F401 - the studio fixture
from gacha.test_catalog_teams import catalog_events
from koepon.app import Platform
from payment.fixtures.shop import Fan


def period_from(raw: dict[str, Any], now: datetime, *, days: int = 30) -> dict[str, Any]:
    raw = dict(raw)
    raw["period"] = {
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=days)).isoformat(),
    }
    return raw


def ur_doubled(config: dict[str, Any]) -> dict[str, Any]:
    changed = {**config, "main": [dict(line) for line in config["main"]]}
    changed["main"][0]["weight"] -= 1_000
    changed["main"][7]["weight"] += 1_000  # the UR doubles from 0.3% to 0.4%
    return changed


async def propose(
    studio: Studio,
    gacha_id: str,
    config: dict[str, Any],
    effective_at: datetime,
    *,
    who: Fan | None = None,
    note: str = "URの排出率を上げます",
) -> httpx.Response:
    who = who or studio.vtuber
    return await studio.client.post(
        f"/api/v1/gachas/{gacha_id}/proposals",
        json={
            "config": await studio.real(config),
            "change_note": note,
            "effective_at": effective_at.isoformat(),
        },
        headers=who.headers,
    )


async def submit(
    studio: Studio, gacha_id: str, proposal_id: str, who: Fan | None = None
) -> httpx.Response:
    who = who or studio.vtuber
    return await studio.client.post(
        f"/api/v1/gachas/{gacha_id}/proposals/{proposal_id}/submit", headers=who.headers
    )


async def decide(studio: Studio, proposal_id: str, step: str, **body: str) -> httpx.Response:
    return await studio.client.post(
        f"/api/v1/admin/gacha-proposals/{proposal_id}/{step}",
        json=body or None,
        headers=studio.operator.headers,
    )


async def proposals_of(studio: Studio, gacha_id: str) -> list[dict[str, Any]]:
    listed = await studio.client.get(
        f"/api/v1/gachas/{gacha_id}/proposals", headers=studio.vtuber.headers
    )
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


async def drawn_version(desk: Desk, fan: Fan, gacha_id: str) -> int:
    answer = await desk.client.post(
        f"/api/v1/gachas/{gacha_id}/draws", json={"count": 1}, headers=fan.ik()
    )
    # 200 with the result when the draw finished within the short wait, else 202: then poll.
    assert answer.status_code in (200, 202), answer.text
    draw = answer.json()
    for _ in range(200):
        if draw["status"] == "completed":
            break
        await asyncio.sleep(0.05)
        read = await desk.client.get(f"/api/v1/draws/{draw['id']}", headers=fan.headers)
        assert read.status_code == 200, read.text
        draw = read.json()
    assert draw["status"] == "completed", draw
    version: int = draw["odds_version"]
    return version


async def test_a_team_proposal_is_checked_reviewed_and_announced_with_notice(
    studio: Studio, desk: Desk, client: httpx.AsyncClient, platform: Platform
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    clock = studio.freeze(now)
    notice = timedelta(hours=gacha_context(platform).gacha_settings.odds_notice_hours)
    config = period_from(samples.weighted_raw(), now)
    gacha_id = await studio.published(config)
    events_before = len(await catalog_events(platform, gacha_id))
    fan = await desk.fan(medals=3_000)
    assert await drawn_version(desk, fan, gacha_id) == 1

    changed = ur_doubled(config)
    g5 = {**changed, "items": [dict(item) for item in changed["items"]]}
    g5["items"][0]["stock"] = 10
    made = await propose(studio, gacha_id, g5, now + timedelta(hours=1))
    assert made.status_code == 201, made.text
    proposal = made.json()
    proposal_id = proposal["id"]
    assert proposal["status"] == "draft" and proposal["base_version"] == 1
    assert proposal["gacha_phase"] == "live" and proposal["created_by"] == studio.vtuber.id
    assert "G5" in {c["rule"] for c in proposal["checks"]}
    refused = await submit(studio, gacha_id, proposal_id)
    assert refused.status_code == 422 and refused.json()["code"] == "G5", refused.text
    assert refused.json()["violations"]
    assert (await proposals_of(studio, gacha_id))[0]["status"] == "draft"

    fixed = await client.put(
        f"/api/v1/gachas/{gacha_id}/proposals/{proposal_id}",
        json={
            "config": await studio.real(changed),
            "change_note": "URの排出率を上げます",
            "effective_at": (now + timedelta(hours=1)).isoformat(),
        },
        headers=studio.vtuber.headers,
    )
    assert fixed.status_code == 200, fixed.text
    assert [c for c in fixed.json()["checks"] if c["severity"] == "refuse"] == []
    submitted = await submit(studio, gacha_id, proposal_id)
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    assert submitted.json()["submitted_by"] == studio.vtuber.id
    again = await submit(studio, gacha_id, proposal_id)
    assert again.status_code == 200 and again.json()["status"] == "submitted"

    # The operators' queue: the checks and both tables' expected costs (G7).
    queue = await client.get("/api/v1/admin/gacha-proposals", headers=studio.operator.headers)
    assert queue.status_code == 200, queue.text
    queued = next(p for p in queue.json()["items"] if p["id"] == proposal_id)
    assert queued["gacha_title"] and queued["current_version"] == 1
    current = {c["item_id"]: c for c in queued["current_expected_costs"] if c["table"] == "main"}
    proposed = {c["item_id"]: c for c in queued["expected_costs"] if c["table"] == "main"}
    ur = "signed-ur"
    assert current[ur]["percent"] != proposed[ur]["percent"]
    assert proposed[ur]["expected_cost_medals"] < current[ur]["expected_cost_medals"]
    # Nothing is published before approval.
    log = (await client.get(f"/api/v1/gachas/{gacha_id}/odds")).json()["versions"]
    assert [v["version"] for v in log] == [1]

    approved = await decide(studio, proposal_id, "approve")
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "approved" and body["published_version"] == 2
    assert body["reviewed_by"] == studio.operator.id
    # Live: the requested hour is moved to the end of the notice period (G4).
    effective = datetime.fromisoformat(body["published_effective_at"])
    assert effective == now + notice
    assert (await decide(studio, proposal_id, "approve")).json()["published_version"] == 2

    log = (await client.get(f"/api/v1/gachas/{gacha_id}/odds")).json()["versions"]
    assert [(v["version"], v["state"]) for v in log] == [(1, "in_force"), (2, "announced")]
    assert datetime.fromisoformat(log[1]["effective_at"]) >= now + notice
    assert log[1]["change_note"] == "URの排出率を上げます"
    page = (await client.get(f"/api/v1/gachas/{gacha_id}")).json()
    assert page["announced_version"]["version"] == 2 and page["odds"]["version"] == 1
    events = await catalog_events(platform, gacha_id)
    assert len(events) == events_before + 1 and events[-1]["status"] == "approved"
    assert await drawn_version(desk, fan, gacha_id) == 1  # the old table until then

    clock.advance(hours=notice.total_seconds() / 3600)
    assert await drawn_version(desk, fan, gacha_id) == 2
    log = (await client.get(f"/api/v1/gachas/{gacha_id}/odds")).json()["versions"]
    assert [(v["version"], v["state"]) for v in log] == [(1, "superseded"), (2, "in_force")]
    assert (await client.get(f"/api/v1/gachas/{gacha_id}")).json()["odds"]["version"] == 2
    # Decided: a new proposal may follow, on version 2.
    follow = await propose(studio, gacha_id, config, now + timedelta(days=5))
    assert follow.status_code == 201 and follow.json()["base_version"] == 2


async def test_one_open_proposal_at_a_time_and_a_rejection_goes_back_with_its_reason(
    studio: Studio, client: httpx.AsyncClient
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    studio.freeze(now)
    config = period_from(samples.weighted_raw(), now)
    gacha_id = await studio.published(config)
    first = await propose(studio, gacha_id, ur_doubled(config), now + timedelta(days=2))
    proposal_id = first.json()["id"]
    second = await propose(studio, gacha_id, config, now + timedelta(days=2))
    assert second.status_code == 409 and second.json()["code"] == "proposal_already_open"
    assert second.json()["proposal_id"] == proposal_id
    early = await decide(studio, proposal_id, "reject", reason="まだ")
    assert early.status_code == 409 and early.json()["code"] == "proposal_status_conflict"
    assert (await submit(studio, gacha_id, proposal_id)).status_code == 200
    still = await propose(studio, gacha_id, config, now + timedelta(days=2))
    assert still.status_code == 409 and still.json()["code"] == "proposal_already_open"
    edit = await client.put(
        f"/api/v1/gachas/{gacha_id}/proposals/{proposal_id}",
        json={"config": config, "change_note": "x", "effective_at": now.isoformat()},
        headers=studio.vtuber.headers,
    )
    assert edit.status_code == 409 and edit.json()["code"] == "proposal_status_conflict"
    blank = await decide(studio, proposal_id, "reject", reason=" ")
    assert blank.status_code == 422

    rejected = await decide(studio, proposal_id, "reject", reason="告知文を具体的にしてください")
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    listed = await proposals_of(studio, gacha_id)
    assert [(p["id"], p["review_note"]) for p in listed] == [
        (proposal_id, "告知文を具体的にしてください")
    ]
    late = await decide(studio, proposal_id, "approve")
    assert late.status_code == 409 and late.json()["code"] == "proposal_status_conflict"
    log = (await client.get(f"/api/v1/gachas/{gacha_id}/odds")).json()["versions"]
    assert [v["version"] for v in log] == [1]
    queue = await client.get(
        "/api/v1/admin/gacha-proposals?status=rejected", headers=studio.operator.headers
    )
    assert proposal_id in [p["id"] for p in queue.json()["items"]]
    assert (await propose(studio, gacha_id, config, now + timedelta(days=2))).status_code == 201
    missing = await decide(studio, "no-such-proposal", "approve")
    assert missing.status_code == 404 and missing.json()["code"] == "proposal_not_found"


async def test_refused_at_once_g1_a_bad_split_another_kind_and_an_unpublished_gacha(
    studio: Studio,
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    studio.freeze(now)
    config = period_from(samples.weighted_raw(), now)
    gacha_id = await studio.published(config)
    g1 = {**config, "set_completion_bonus": {"items": ["voice-n1"], "reward": "signed-ur"}}
    split = {**config, "revenue_shares": [{"vtuber_id": "vt-x", "share_bp": 10_000}]}
    box = period_from(samples.box_raw(), now)
    for raw, code in ((g1, "G1"), (split, "revenue_shares_invalid"), (box, "gacha_kind_fixed")):
        answer = await propose(studio, gacha_id, raw, now + timedelta(days=2))
        assert answer.status_code == 422 and answer.json()["code"] == code, answer.text
    assert await proposals_of(studio, gacha_id) == []
    draft = (await studio.draft(config)).json()["id"]
    answer = await propose(studio, draft, config, now + timedelta(days=2))
    assert answer.status_code == 409 and answer.json()["code"] == "gacha_status_conflict"


async def test_a_stale_proposal_is_refused_at_approval(
    studio: Studio, client: httpx.AsyncClient, platform: Platform
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    studio.freeze(now)
    config = period_from(samples.weighted_raw(), now)
    superseded = await studio.published(config)
    ended = await studio.published(config)
    waiting = {}
    for gacha_id in (superseded, ended):
        made = await propose(studio, gacha_id, ur_doubled(config), now + timedelta(days=2))
        waiting[gacha_id] = made.json()["id"]
        assert (await submit(studio, gacha_id, waiting[gacha_id])).status_code == 200
    # The operator publishes version 2 directly; then ends the other gacha.
    direct = await studio.new_version(superseded, config, now + timedelta(days=2), note="直接")
    assert direct.status_code == 201, direct.text
    done = await client.post(f"/api/v1/admin/gachas/{ended}/end", headers=studio.operator.headers)
    assert done.status_code == 200
    events = {g: len(await catalog_events(platform, g)) for g in (superseded, ended)}
    for gacha_id, reason in ((superseded, "base_superseded"), (ended, "gacha_ended")):
        answer = await decide(studio, waiting[gacha_id], "approve")
        assert answer.status_code == 409, answer.text
        assert answer.json()["code"] == "proposal_stale" and answer.json()["reason"] == reason
        assert (await proposals_of(studio, gacha_id))[0]["status"] == "submitted"
        assert len(await catalog_events(platform, gacha_id)) == events[gacha_id]
    log = (await client.get(f"/api/v1/gachas/{superseded}/odds")).json()["versions"]
    assert [v["change_note"] for v in log] == ["", "直接"]
    assert (await decide(studio, waiting[ended], "reject", reason="終了済み")).status_code == 200
    late = await propose(studio, ended, config, now + timedelta(days=2))
    assert late.status_code == 409 and late.json()["code"] == "gacha_status_conflict"


async def test_an_editor_proposes_a_manager_submits_and_outsiders_are_refused(
    studio: Studio, client: httpx.AsyncClient, platform: Platform
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    studio.freeze(now)
    own = studio.vtuber.id
    config = period_from(samples.weighted_raw(), now)
    gacha_id = await studio.published(config)
    editor, manager, analyst, fan = [await account(client, platform) for _ in range(4)]
    for who, role in ((editor, "editor"), (manager, "manager"), (analyst, "analyst")):
        await team_member(platform, own, who.id, role)
    other_owner = await account(client, platform, "vtuber")
    compliance = await account(client, platform, "compliance")
    admin = await account(client, platform, "admin")

    made = await propose(studio, gacha_id, ur_doubled(config), now + timedelta(days=2), who=editor)
    assert made.status_code == 201, made.text
    proposal_id = made.json()["id"]
    no = await submit(studio, gacha_id, proposal_id, who=editor)
    assert no.status_code == 403 and no.json()["permission"] == "gacha.submit"

    base = f"/api/v1/gachas/{gacha_id}/proposals"
    garbage: dict[str, Any] = {"config": "not a config"}  # never read for a stranger
    team_routes = [
        ("POST", base, garbage),
        ("GET", base, None),
        ("PUT", f"{base}/{proposal_id}", garbage),
        ("POST", f"{base}/{proposal_id}/submit", None),
    ]
    for who in (analyst, fan, other_owner, compliance):
        for method, url, payload in team_routes:
            answer = await client.request(method, url, json=payload, headers=who.headers)
            assert answer.status_code == 404, (who, method, url, answer.text)
    for method, url, payload in team_routes:
        answer = await client.request(method, url, json=payload)
        assert answer.status_code == 401, (method, url, answer.text)
    admin_list = await client.get(base, headers=admin.headers)
    assert admin_list.status_code == 200

    queue = "/api/v1/admin/gacha-proposals"
    for who in (editor, manager, studio.vtuber, fan):
        for method, url in (
            ("GET", queue),
            ("POST", f"{queue}/{proposal_id}/approve"),
            ("POST", f"{queue}/{proposal_id}/reject"),
        ):
            body = {"reason": "x"} if url.endswith("reject") else None
            answer = await client.request(method, url, json=body, headers=who.headers)
            assert answer.status_code == 403, (method, url, answer.text)
    assert (await client.get(queue)).status_code == 401

    submitted = await submit(studio, gacha_id, proposal_id, who=manager)
    assert submitted.status_code == 200 and submitted.json()["submitted_by"] == manager.id
    assert (await client.get(queue, headers=compliance.headers)).status_code == 200
    approved = await client.post(f"{queue}/{proposal_id}/approve", headers=admin.headers)
    assert approved.status_code == 200 and approved.json()["published_version"] == 2


async def test_while_the_vtuber_service_cannot_be_asked_no_proposal_is_stored(
    studio: Studio, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    studio.freeze(now)
    config = period_from(samples.weighted_raw(), now)
    gacha_id = await studio.published(config)
    made = await propose(studio, gacha_id, ur_doubled(config), now + timedelta(days=2))
    proposal_id = made.json()["id"]
    real = await studio.real(config)
    body = {"config": real, "change_note": "変更", "effective_at": now.isoformat()}
    base = f"/api/v1/gachas/{gacha_id}/proposals"
    attempts = [
        ("POST", base, body),
        ("GET", base, None),
        ("PUT", f"{base}/{proposal_id}", body),
        ("POST", f"{base}/{proposal_id}/submit", None),
    ]
    monkeypatch.setattr(platform.clients, "vtuber", VtuberServiceDown())
    for method, url, payload in attempts:
        answer = await studio.client.request(
            method, url, json=payload, headers=studio.vtuber.headers
        )
        assert answer.status_code == 503, (method, url, answer.text)
        assert answer.json()["code"] == "dependency_unavailable"
    monkeypatch.undo()
    listed = await proposals_of(studio, gacha_id)
    assert [(p["id"], p["status"], p["change_note"]) for p in listed] == [
        (proposal_id, "draft", "URの排出率を上げます")
    ]


async def test_a_box_keeps_its_contents_and_an_upcoming_gacha_needs_no_notice(
    studio: Studio, client: httpx.AsyncClient
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    studio.freeze(now)
    box = period_from(samples.box_raw(), now)
    box_id = await studio.published(box)
    bigger = {**box, "box": [dict(line) for line in box["box"]]}
    bigger["box"][2]["count"] += 1
    made = await propose(studio, box_id, bigger, now + timedelta(days=2))
    locked = await submit(studio, box_id, made.json()["id"])
    assert locked.status_code == 409 and locked.json()["code"] == "box_composition_locked"

    upcoming = samples.weighted_raw()
    upcoming["period"] = {"starts_at": (now + timedelta(days=3)).isoformat(), "ends_at": None}
    gacha_id = await studio.published(upcoming)
    changed = ur_doubled(upcoming)
    made = await propose(studio, gacha_id, changed, now + timedelta(hours=1))
    assert made.json()["gacha_phase"] == "scheduled"
    assert (await submit(studio, gacha_id, made.json()["id"])).status_code == 200
    approved = await decide(studio, made.json()["id"], "approve")
    assert approved.status_code == 200, approved.text
    # Not live: no notice, but never before version 1 (the period's start).
    effective = datetime.fromisoformat(approved.json()["published_effective_at"])
    assert effective == now + timedelta(days=3)
