"""The catalogue and the VTuber service: a VTuber's team authors by its permissions (asked of the
VTuber service; nothing is authored while it cannot be asked), collab gachas and their revenue
split, the catalogue events the VTuber service keeps its copy from, and the workflow phases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from gacha import samples
from gacha.conftest import (
    Desk,
    VtuberServiceDown,
    gacha_context,
    live_now,
    team_member,
)
from gacha.test_catalog import Studio, account, studio_fixture  # noqa: F401 - the studio fixture
from koepon.app import Platform
from koepon.contracts.gacha import DrawCompleted, DrawReversed, GachaCatalogChanged
from vtuber.conftest import approved_vtuber


def collab(raw: dict[str, Any], *shares: tuple[str, int]) -> dict[str, Any]:
    return {**raw, "revenue_shares": [{"vtuber_id": v, "share_bp": bp} for v, bp in shares]}


async def published_events(platform: Platform, topic: str) -> list[dict[str, Any]]:
    ctx = gacha_context(platform)
    table = ctx.outbox.table
    async with ctx.db.transaction(read_only=True) as session:
        rows = await session.scalars(select(table.c.payload).where(table.c.topic == topic))
        return [dict(payload) for payload in rows]


async def catalog_events(platform: Platform, gacha_id: str) -> list[dict[str, Any]]:
    found = await published_events(platform, GachaCatalogChanged.topic)
    return sorted((e for e in found if e["gacha_id"] == gacha_id), key=lambda e: e["revision"])


# --- who authors: the VTuber service's permissions --------------------------------------------


async def test_a_team_editor_drafts_and_edits_and_a_manager_submits(
    studio: Studio, client: httpx.AsyncClient, platform: Platform
) -> None:
    own = studio.vtuber.id
    editor, analyst, manager = [await account(client, platform) for _ in range(3)]
    for who, role in ((editor, "editor"), (analyst, "analyst"), (manager, "manager")):
        await team_member(platform, own, who.id, role)
    body = {
        "title": "編集者のガチャ",
        "config": await studio.real(live_now(samples.weighted_raw())),
    }

    made = await client.post(f"/api/v1/vtubers/{own}/gachas", json=body, headers=editor.headers)
    assert made.status_code == 201, made.text
    gacha_id = made.json()["id"]
    assert made.json()["created_by"] == editor.id and made.json()["vtuber_id"] == own
    listed = await client.get(f"/api/v1/vtubers/{own}/gachas", headers=editor.headers)
    assert [g["id"] for g in listed.json()["items"]] == [gacha_id]
    edited = await client.put(
        f"/api/v1/gachas/{gacha_id}", json={**body, "title": "直した"}, headers=editor.headers
    )
    assert edited.status_code == 200 and edited.json()["title"] == "直した"
    # An editor does not send the team's gacha to review: a manager (or the owner) does.
    refused = await client.post(f"/api/v1/gachas/{gacha_id}/submit", headers=editor.headers)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "authoring_forbidden"
    assert refused.json()["permission"] == "gacha.submit"
    assert (await studio.team())[0]["status"] == "draft"

    # An analyst reads sales, not drafts: the team's gachas stay hidden.
    for method, url, payload, status in (
        ("POST", f"/api/v1/vtubers/{own}/gachas", body, 403),
        ("GET", f"/api/v1/vtubers/{own}/gachas", None, 403),
        ("PUT", f"/api/v1/gachas/{gacha_id}", body, 404),
        ("POST", f"/api/v1/gachas/{gacha_id}/submit", None, 404),
    ):
        answer = await client.request(method, url, json=payload, headers=analyst.headers)
        assert answer.status_code == status, (method, url, answer.text)

    # Membership is per VTuber: the editor is nobody for another VTuber.
    other = await account(client, platform, "vtuber")
    elsewhere = await client.post(
        f"/api/v1/vtubers/{other.id}/gachas", json=body, headers=editor.headers
    )
    assert elsewhere.status_code == 403 and elsewhere.json()["code"] == "authoring_forbidden"

    submitted = await client.post(f"/api/v1/gachas/{gacha_id}/submit", headers=manager.headers)
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"


async def test_while_the_vtuber_service_cannot_be_asked_nothing_is_authored(
    studio: Studio, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = await studio.real(live_now(samples.weighted_raw()))
    draft_id = (await studio.draft(config, title="最初")).json()["id"]
    own = studio.vtuber.id
    body = {"title": "変更", "config": config}
    attempts = [
        ("POST", f"/api/v1/vtubers/{own}/gachas", body),
        ("GET", f"/api/v1/vtubers/{own}/gachas", None),
        ("PUT", f"/api/v1/gachas/{draft_id}", body),
        ("POST", f"/api/v1/gachas/{draft_id}/submit", None),
    ]
    down = VtuberServiceDown()
    for client_now in (down, None):  # unreachable, or not configured at all
        monkeypatch.setattr(platform.clients, "vtuber", client_now)
        for method, url, payload in attempts:
            answer = await studio.client.request(
                method, url, json=payload, headers=studio.vtuber.headers
            )
            assert answer.status_code == 503, (method, url, answer.text)
            problem = answer.json()
            assert problem["code"] == "dependency_unavailable", problem
            assert problem["dependency"] == "vtuber service"
            assert int(answer.headers["retry-after"]) >= 1
    assert down.asked == len(attempts)
    monkeypatch.undo()
    team = await studio.team()
    assert [(g["id"], g["title"], g["status"]) for g in team] == [(draft_id, "最初", "draft")]
    assert await catalog_events(platform, draft_id) == []


# --- collab gachas -----------------------------------------------------------------------------


async def test_a_bad_revenue_split_is_refused_at_once_and_nothing_is_stored(
    studio: Studio,
) -> None:
    own = studio.vtuber.id
    config = await studio.real(live_now(samples.weighted_raw()))
    for shares, words in (
        ((("vt-a", 5000), ("vt-b", 5000)), f"own VTuber {own}"),
        (((own, 6000), ("vt-a", 3000)), "sum to 9000 bp"),
        (((own, 10_000), ("vt-a", 0)), "must be positive"),
        (((own, 5000), (own, 5000)), "listed twice"),
        (((own, 5000), *((f"vt-{i}", 1000) for i in range(5))), "at most 5 VTubers"),
    ):
        answer = await studio.draft(collab(config, *shares))
        assert answer.status_code == 422, answer.text
        problem = answer.json()
        assert problem["code"] == "revenue_shares_invalid", problem
        assert any(words in p for p in problem["problems"]), problem
    malformed = await studio.draft({**config, "revenue_shares": [{"vtuber_id": own}]})
    assert malformed.json()["code"] == "revenue_shares_invalid", malformed.text
    assert await studio.team() == []

    gacha_id = (await studio.draft(config)).json()["id"]
    edited = await studio.client.put(
        f"/api/v1/gachas/{gacha_id}",
        json={"title": "t", "config": collab(config, (own, 9000))},
        headers=studio.vtuber.headers,
    )
    assert edited.status_code == 422 and edited.json()["code"] == "revenue_shares_invalid"
    assert "revenue_shares" not in (await studio.team())[0]["config"]


async def test_a_collab_is_submitted_with_approved_partners_only_and_shows_its_split(
    studio: Studio, client: httpx.AsyncClient, platform: Platform
) -> None:
    own = studio.vtuber.id
    split = ((own, 7000), ("vt-partner", 3000))
    config = collab(await studio.real(live_now(samples.weighted_raw())), *split)
    gacha_id = (await studio.draft(config)).json()["id"]
    refused = await studio.submit(gacha_id)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "collaborator_not_approved"
    assert refused.json()["vtuber_ids"] == ["vt-partner"]
    assert (await studio.team())[0]["status"] == "draft"

    partner = await account(client, platform)
    await approved_vtuber(platform, partner.id, vtuber_id="vt-partner")
    assert (await studio.submit(gacha_id)).status_code == 200
    assert (await studio.approve(gacha_id)).status_code == 200
    page = (await client.get(f"/api/v1/gachas/{gacha_id}")).json()
    assert page["revenue_shares"] == [{"vtuber_id": v, "share_bp": bp} for v, bp in split]
    assert page["vtuber_id"] == own and page["phase"] == "live"
    approved = (await catalog_events(platform, gacha_id))[-1]
    assert approved["status"] == "approved"
    assert approved["shares"] == page["revenue_shares"]

    solo = await studio.published(live_now(samples.weighted_raw()))
    assert (await client.get(f"/api/v1/gachas/{solo}")).json()["revenue_shares"] == []


async def test_a_collab_draw_and_its_reversal_carry_the_split(desk: Desk) -> None:
    split = [{"vtuber_id": "vt-luna", "share_bp": 6000}, {"vtuber_id": "vt-sora", "share_bp": 4000}]
    collab_id = await desk.publish(
        {**live_now(samples.weighted_raw()), "revenue_shares": split}, vtuber_id="vt-luna"
    )
    solo_id = await desk.publish(live_now(samples.weighted_raw()), vtuber_id="vt-luna")
    fan = await desk.fan(medals=600)
    draws = {}
    for gacha_id in (collab_id, solo_id):
        made = await desk.client.post(
            f"/api/v1/gachas/{gacha_id}/draws", json={"count": 1}, headers=fan.ik()
        )
        assert made.status_code == 200, made.text
        draws[gacha_id] = made.json()["id"]
    completed = {
        e["gacha_id"]: e for e in await published_events(desk.platform, DrawCompleted.topic)
    }
    assert completed[collab_id]["shares"] == split
    assert completed[solo_id]["shares"] == []
    assert completed[collab_id]["paid_value_jpy"] == 300

    admin = await desk.shop.fan(roles=["admin"])
    reversed_ = await desk.client.post(
        f"/api/v1/admin/draws/{draws[collab_id]}/reverse",
        json={"reason": "チャージバック"},
        headers=admin.headers,
    )
    assert reversed_.status_code == 200, reversed_.text
    [event] = await published_events(desk.platform, DrawReversed.topic)
    assert event["draw_id"] == draws[collab_id]
    assert (event["gacha_id"], event["vtuber_id"]) == (collab_id, "vt-luna")
    assert (event["paid_value_jpy"], event["shares"]) == (300, split)


# --- catalogue events --------------------------------------------------------------------------


async def test_every_decision_is_published_with_the_next_revision(
    studio: Studio, client: httpx.AsyncClient, platform: Platform
) -> None:
    config = live_now(samples.weighted_raw())
    gacha_id = (await studio.draft(config, title="告知ガチャ")).json()["id"]
    assert await catalog_events(platform, gacha_id) == []  # a draft is the team's own
    assert (await studio.submit(gacha_id)).status_code == 200
    assert (await studio.submit(gacha_id)).status_code == 200  # again: nothing new
    rejected = await client.post(
        f"/api/v1/admin/gachas/{gacha_id}/reject",
        json={"reason": "説明を足してください"},
        headers=studio.operator.headers,
    )
    assert rejected.status_code == 200
    edited = await client.put(
        f"/api/v1/gachas/{gacha_id}",
        json={"title": "告知ガチャ", "config": await studio.real(config)},
        headers=studio.vtuber.headers,
    )
    assert edited.status_code == 200
    assert (await studio.submit(gacha_id)).status_code == 200
    assert (await studio.approve(gacha_id)).status_code == 200
    assert (await studio.approve(gacha_id)).status_code == 200  # again: nothing new
    cheaper = {**live_now(samples.weighted_raw()), "price_medals": 250, "price_jpy": 250}
    later = datetime.now(UTC) + timedelta(days=2)
    assert (await studio.new_version(gacha_id, cheaper, later)).status_code == 201
    ended = await client.post(
        f"/api/v1/admin/gachas/{gacha_id}/end", headers=studio.operator.headers
    )
    assert ended.status_code == 200

    events = await catalog_events(platform, gacha_id)
    assert [(e["revision"], e["status"]) for e in events] == [
        (1, "submitted"),
        (2, "rejected"),
        (3, "submitted"),
        (4, "approved"),
        (5, "approved"),
        (6, "ended"),
    ]
    assert {(e["title"], e["kind"], e["vtuber_id"]) for e in events} == {
        ("告知ガチャ", "weighted", studio.vtuber.id)
    }
    assert [e["price_medals"] for e in events] == [300, 300, 300, 300, 250, 250]
    assert all(e["box_stock"] is None and e["shares"] == [] for e in events)
    starts = datetime.fromisoformat(config["period"]["starts_at"])
    assert all(datetime.fromisoformat(e["starts_at"]) == starts for e in events[:4])

    box = await studio.published(live_now(samples.box_raw()))
    [submitted, approved] = await catalog_events(platform, box)
    assert (submitted["status"], approved["status"]) == ("submitted", "approved")
    assert approved["kind"] == "box" and approved["box_stock"] == 20


# --- workflow phases --------------------------------------------------------------------------


async def test_the_team_and_the_public_see_the_phase_follow_the_clock(
    studio: Studio, client: httpx.AsyncClient
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    clock = studio.freeze(now)
    config = samples.weighted_raw()
    starts, ends = now + timedelta(days=1), now + timedelta(days=3)
    config["period"] = {"starts_at": starts.isoformat(), "ends_at": ends.isoformat()}
    gacha_id = (await studio.draft(config)).json()["id"]

    async def phases() -> tuple[str, str | None]:
        """(the team's view, the public page) — and the public list agrees with the page."""
        team = {g["id"]: g["phase"] for g in await studio.team()}
        public = await client.get(f"/api/v1/gachas/{gacha_id}")
        shown = public.json()["phase"] if public.status_code == 200 else None
        listed = {g["id"]: g["phase"] for g in (await client.get("/api/v1/gachas")).json()["items"]}
        assert listed.get(gacha_id) == (shown if shown != "ended" else None)  # ended: unlisted
        return team[gacha_id], shown

    assert await phases() == ("draft", None)
    submitted = await studio.submit(gacha_id)
    assert submitted.json()["phase"] == "submitted"
    assert await phases() == ("submitted", None)
    approved = await studio.approve(gacha_id)
    assert (approved.json()["status"], approved.json()["phase"]) == ("approved", "scheduled")
    assert await phases() == ("scheduled", "scheduled")
    clock.now = starts
    assert await phases() == ("live", "live")
    clock.now = ends - timedelta(seconds=1)
    assert await phases() == ("live", "live")
    clock.now = ends
    assert await phases() == ("ended", "ended")
    queue = await client.get(
        "/api/v1/admin/gachas?status=approved", headers=studio.operator.headers
    )
    assert {g["id"]: g["phase"] for g in queue.json()["items"]}[gacha_id] == "ended"

    clock.now = now
    other = (await studio.draft(config)).json()["id"]
    assert (await studio.submit(other)).status_code == 200
    rejected = await client.post(
        f"/api/v1/admin/gachas/{other}/reject",
        json={"reason": "x"},
        headers=studio.operator.headers,
    )
    assert rejected.json()["phase"] == "rejected"
    ended = await client.post(
        f"/api/v1/admin/gachas/{gacha_id}/end", headers=studio.operator.headers
    )
    assert ended.json()["phase"] == "ended"


async def test_an_approved_collab_reaches_every_partners_public_profile_through_the_bus(
    studio: Studio, client: httpx.AsyncClient, platform: Platform
) -> None:
    own = studio.vtuber.id
    partner = await account(client, platform, "vtuber")
    config = collab(await studio.real(live_now(samples.weighted_raw())), (own, 5000))
    config["revenue_shares"].append({"vtuber_id": partner.id, "share_bp": 5000})
    gacha_id = await studio.published(config)

    async def live_on(vtuber_id: str) -> list[str]:
        for _ in range(100):  # the outbox relay delivers within moments
            profile = await client.get(f"/api/v1/vtubers/{vtuber_id}")
            assert profile.status_code == 200, profile.text
            found = [g["gacha_id"] for g in profile.json()["live_gachas"]]
            if found:
                return found
            await asyncio.sleep(0.05)
        return []

    assert await live_on(own) == [gacha_id]
    assert await live_on(partner.id) == [gacha_id]
