"""The draw through the public API (API.md "Gachas"), on the embedded default and on real
PostgreSQL + Redis + RabbitMQ: results, payment exactly once, refusals that spend nothing,
idempotency, ownership, the fan's standing, and account-wide limits (COMPLIANCE A3)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import func, select

from gacha import samples
from gacha.conftest import Desk, gacha_context, gacha_services, live_now
from koepon.gacha.draws.models import Draw
from koepon.gacha.draws.states import FINAL
from koepon.gacha.odds.model import Rarity


async def draw(desk: Desk, fan: Any, gacha_id: str, count: int = 1, key: str | None = None):  # type: ignore[no-untyped-def]
    return await desk.client.post(
        f"/api/v1/gachas/{gacha_id}/draws", json={"count": count}, headers=fan.ik(key)
    )


async def test_a_single_draw_pays_once_and_shows_its_result(desk: Desk) -> None:
    gacha_id = await desk.publish(live_now(samples.weighted_raw()))
    fan = await desk.fan(medals=500)
    answer = await draw(desk, fan, gacha_id)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "completed"
    assert len(body["results"]) == 1
    slot = body["results"][0]
    assert slot["item_id"] in {item["item_id"] for item in samples.weighted_raw()["items"]}
    assert slot["nonce"] == 0 and slot["table"] == "main"
    assert body["odds_version"] == 1 and len(body["server_seed_hash"]) == 64
    assert body["paid_medals"] == 300 and body["free_medals"] == 0
    assert await desk.shop.medals(fan.id) == (200, 0)
    again = await desk.client.get(f"/api/v1/draws/{body['id']}", headers=fan.headers)
    assert again.status_code == 200 and again.json()["results"] == body["results"]
    history = await desk.client.get("/api/v1/draws", headers=fan.headers)
    assert [d["id"] for d in history.json()["items"]] == [body["id"]]
    seeds = await desk.client.get("/api/v1/me/seeds", headers=fan.headers)
    assert seeds.json()["next_nonce"] == 1
    assert seeds.json()["server_seed_hash"] == body["server_seed_hash"]


async def test_a_ten_draw_uses_ten_nonces_and_its_guaranteed_slot(desk: Desk) -> None:
    gacha_id = await desk.publish(live_now(samples.weighted_raw()))
    fan = await desk.fan(medals=3000, free=300)
    answer = await draw(desk, fan, gacha_id, count=10)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [slot["nonce"] for slot in results] == list(range(10))
    assert results[-1]["table"] == "guaranteed"
    assert Rarity(results[-1]["rarity"]).at_least(Rarity.SR)
    # Free medals first (M1 default): 300 free + 2700 paid.
    assert answer.json()["free_medals"] == 300 and answer.json()["paid_medals"] == 2700
    assert await desk.shop.medals(fan.id) == (300, 0)
    standing = await desk.client.get(f"/api/v1/gachas/{gacha_id}/me", headers=fan.headers)
    assert standing.status_code == 200
    # Exchange points only for the paid share: 10 × 2700 // 3000 = 9 slots.
    assert standing.json()["points"] == 9
    assert standing.json()["drawn"] == 10


async def test_too_few_medals_is_402_and_nothing_is_spent(desk: Desk) -> None:
    gacha_id = await desk.publish(live_now(samples.weighted_raw()))
    fan = await desk.fan(medals=299)
    answer = await draw(desk, fan, gacha_id)
    assert answer.status_code == 402, answer.text
    assert answer.json()["code"] == "insufficient_medals"
    assert await desk.shop.medals(fan.id) == (299, 0)
    drawn = await desk.client.get("/api/v1/draws", headers=fan.headers)
    assert drawn.json()["items"][0]["status"] == "refused"


async def test_the_same_key_is_the_same_draw_and_a_new_body_is_refused(desk: Desk) -> None:
    gacha_id = await desk.publish(live_now(samples.weighted_raw()))
    fan = await desk.fan(medals=900)
    key = uuid.uuid4().hex
    first = await draw(desk, fan, gacha_id, key=key)
    again = await draw(desk, fan, gacha_id, key=key)
    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other = await draw(desk, fan, gacha_id, count=10, key=key)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert await desk.shop.medals(fan.id) == (600, 0)


async def test_twenty_copies_of_one_request_make_one_draw(desk: Desk) -> None:
    gacha_id = await desk.publish(live_now(samples.weighted_raw()))
    fan = await desk.fan(medals=3000)
    key = uuid.uuid4().hex
    answers = await asyncio.gather(*(draw(desk, fan, gacha_id, key=key) for _ in range(20)))
    assert {a.status_code for a in answers} <= {200, 202}, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    await settle(desk)
    assert await desk.shop.medals(fan.id) == (2700, 0)


async def test_bad_requests_are_refused_and_change_nothing(desk: Desk) -> None:
    gacha_id = await desk.publish(live_now(samples.weighted_raw()))
    fan = await desk.fan(medals=300)
    url = f"/api/v1/gachas/{gacha_id}/draws"
    for body in ({"count": 3}, {"count": "1"}, {}, {"count": 1, "extra": True}, [1]):
        answer = await desk.client.post(url, json=body, headers=fan.ik())
        assert answer.status_code == 422, (body, answer.text)
    no_key = await desk.client.post(url, json={"count": 1}, headers=fan.headers)
    assert no_key.status_code == 400 and no_key.json()["code"] == "idempotency_key_required"
    unknown = await draw(desk, fan, str(uuid.uuid4()))
    assert unknown.status_code == 404 and unknown.json()["code"] == "gacha_not_found"
    hostile = await desk.client.post(
        "/api/v1/gachas/..%2f..%2fadmin/draws", json={"count": 1}, headers=fan.ik()
    )
    assert hostile.status_code in (404, 422)
    box = await desk.publish(live_now(samples.weighted_raw() | {"multi": None}))
    ten = await draw(desk, fan, box, count=10)
    assert ten.status_code == 422 and ten.json()["code"] == "invalid_count"
    assert await desk.shop.medals(fan.id) == (300, 0)


async def test_a_draw_is_its_fans_alone(desk: Desk) -> None:
    gacha_id = await desk.publish(live_now(samples.weighted_raw()))
    owner = await desk.fan(medals=300)
    other = await desk.fan()
    made = await draw(desk, owner, gacha_id)
    draw_id = made.json()["id"]
    for path in (f"/api/v1/draws/{draw_id}", f"/api/v1/draws/{draw_id}/proof"):
        assert (await desk.client.get(path)).status_code == 401
        stranger = await desk.client.get(path, headers=other.headers)
        assert stranger.status_code == 404 and stranger.json()["code"] == "draw_not_found"
    anonymous = await desk.client.post(
        f"/api/v1/gachas/{gacha_id}/draws", json={"count": 1}, headers={"Idempotency-Key": "k"}
    )
    assert anonymous.status_code == 401
    listed = await desk.client.get("/api/v1/draws", headers=other.headers)
    assert listed.json()["items"] == []


async def test_a_self_set_monthly_draw_cap_and_cooling_off_refuse_draws(desk: Desk) -> None:
    gacha_id = await desk.publish(live_now(samples.weighted_raw()))
    fan = await desk.fan(medals=1500)
    limits = await desk.client.put(
        "/api/v1/me/limits",
        json={"monthly_purchase_cap_jpy": None, "monthly_draw_cap_medals": 600},
        headers=fan.headers,
    )
    assert limits.status_code == 200, limits.text
    gacha_services(desk.platform).draws.profiles._kept.clear()
    assert (await draw(desk, fan, gacha_id)).status_code == 200
    assert (await draw(desk, fan, gacha_id)).status_code == 200
    third = await draw(desk, fan, gacha_id)
    assert third.status_code == 403 and third.json()["code"] == "draw_cap_exceeded"
    assert await desk.shop.medals(fan.id) == (900, 0)
    pause = await desk.client.post("/api/v1/me/cooling-off", json={"days": 7}, headers=fan.headers)
    assert pause.status_code == 200, pause.text
    gacha_services(desk.platform).draws.profiles._kept.clear()
    paused = await draw(desk, fan, gacha_id)
    assert paused.status_code == 403 and paused.json()["code"] == "cooling_off_active"


async def test_pity_draws_from_its_table_when_due(desk: Desk) -> None:
    raw = samples.weighted_raw()
    raw["pity"] = {"draws": 3, "min_rarity": "UR", "table": [{"item_id": "signed-ur", "weight": 1}]}
    raw["exchange"] = None
    gacha_id = await desk.publish(live_now(raw))
    fan = await desk.fan(medals=3000)
    seen = []
    for _ in range(3):
        answer = await draw(desk, fan, gacha_id)
        assert answer.status_code == 200, answer.text
        seen.append(answer.json()["results"][0])
    if all(slot["rarity"] != "UR" for slot in seen[:2]):
        assert seen[2]["table"] == "pity" and seen[2]["item_id"] == "signed-ur"


async def settle(desk: Desk, *, seconds: float = 60) -> None:
    """Let every draw finish: the sagas running here, then the queue's (relayed by ``drain``),
    until no draw in the database is unfinished (a saga the relay started meanwhile included)."""
    services = gacha_services(desk.platform)
    ctx = gacha_context(desk.platform)
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        running = list(services.draw_worker.running.values())
        if running:
            await asyncio.wait(running)
        await desk.platform.drain()
        async with ctx.db.transaction(read_only=True) as session:
            unfinished = await session.scalar(
                select(func.count()).select_from(Draw).where(Draw.status.not_in(list(FINAL)))
            )
        if not unfinished and not services.draw_worker.running:
            return
        assert asyncio.get_running_loop().time() < deadline, f"{unfinished} draws unfinished"
        await asyncio.sleep(0.05)


async def test_exchange_points_buy_the_chosen_item_once_per_key(desk: Desk) -> None:
    raw = samples.weighted_raw()
    raw["exchange"] = {
        "points_per_paid_draw": 1,
        "offers": [{"item_id": "signed-ur", "cost_points": 10}],
    }
    gacha_id = await desk.publish(live_now(raw))
    fan = await desk.fan(medals=3000)
    url = f"/api/v1/gachas/{gacha_id}/exchanges"
    early = await desk.client.post(url, json={"item_id": "signed-ur"}, headers=fan.ik())
    assert early.status_code == 409 and early.json()["code"] == "exchange_refused"
    assert (await draw(desk, fan, gacha_id, count=10)).status_code == 200
    key = uuid.uuid4().hex
    made = await desk.client.post(url, json={"item_id": "signed-ur"}, headers=fan.ik(key))
    assert made.status_code == 201, made.text
    assert made.json()["points"] == 10 and made.json()["points_left"] == 0
    again = await desk.client.post(url, json={"item_id": "signed-ur"}, headers=fan.ik(key))
    assert again.status_code == 201 and again.json()["id"] == made.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other = await desk.client.post(url, json={"item_id": "voice-n1"}, headers=fan.ik(key))
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    not_offered = await desk.client.post(url, json={"item_id": "voice-n1"}, headers=fan.ik())
    assert not_offered.status_code == 409
    anonymous = await desk.client.post(
        url, json={"item_id": "signed-ur"}, headers={"Idempotency-Key": "k"}
    )
    assert anonymous.status_code == 401
    standing = await desk.client.get(f"/api/v1/gachas/{gacha_id}/me", headers=fan.headers)
    assert standing.json()["points"] == 0


async def test_the_fairness_description_is_public(desk: Desk) -> None:
    gacha_id = await desk.publish(live_now(samples.weighted_raw()))
    answer = await desk.client.get(f"/api/v1/gachas/{gacha_id}/fairness")
    assert answer.status_code == 200 and answer.json()["algorithm_version"] == 1
    unknown = await desk.client.get(f"/api/v1/gachas/{uuid.uuid4()}/fairness")
    assert unknown.status_code == 404


async def test_an_empty_box_refuses_at_once_and_makes_no_draw(desk: Desk) -> None:
    raw = samples.box_raw()
    raw["multi"] = None
    raw["items"][0]["stock"] = 1
    raw["box"] = [{"item_id": "photo-signed", "count": 1}]
    raw["items"] = raw["items"][:1]
    gacha_id = await desk.publish(live_now(raw))
    fan = await desk.fan(medals=1000)
    first = await draw(desk, fan, gacha_id)
    assert first.status_code == 200 and first.json()["results"][0]["item_id"] == "photo-signed"
    second = await draw(desk, fan, gacha_id)
    assert second.status_code == 409 and second.json()["code"] == "box_sold_out"
    listed = await desk.client.get("/api/v1/draws", headers=fan.headers)
    assert len(listed.json()["items"]) == 1
    assert await desk.shop.medals(fan.id) == (500, 0)
