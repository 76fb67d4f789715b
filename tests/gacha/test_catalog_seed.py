"""Demo gachas (API.md "Demo data"): created through the catalogue, live, and seeded once."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from gacha.conftest import gacha_context
from koepon.app import Platform
from koepon.gacha.catalog.models import Gacha, OddsVersionRow
from koepon.seed import DEMO_PASSWORD, DEMO_VTUBER_EMAIL, demo_gacha_id, seed_demo


async def counts(platform: Platform) -> tuple[int, int]:
    async with gacha_context(platform).db.transaction(read_only=True) as session:
        gachas = await session.scalar(select(func.count()).select_from(Gacha))
        versions = await session.scalar(select(func.count()).select_from(OddsVersionRow))
    return int(gachas or 0), int(versions or 0)


async def test_the_demo_vtuber_has_a_live_weighted_and_a_live_box_gacha_seeded_once(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    await seed_demo(platform)
    first = await counts(platform)
    await seed_demo(platform)
    assert await counts(platform) == first == (2, 2)

    login = await client.post(
        "/api/v1/auth/login", json={"email": DEMO_VTUBER_EMAIL, "password": DEMO_PASSWORD}
    )
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    me = (await client.get("/api/v1/me", headers=headers)).json()
    team = await client.get(f"/api/v1/vtubers/{me['id']}/gachas", headers=headers)
    assert {g["id"] for g in team.json()["items"]} == {
        demo_gacha_id("luna-first"),
        demo_gacha_id("luna-box"),
    }

    listed = (await client.get("/api/v1/gachas")).json()["items"]
    assert {(g["kind"], g["state"], g["vtuber_id"]) for g in listed} == {
        ("weighted", "live", me["id"]),
        ("box", "live", me["id"]),
    }
    weighted = (await client.get(f"/api/v1/gachas/{demo_gacha_id('luna-first')}")).json()
    assert (weighted["price_medals"], weighted["multi"]["price_medals"]) == (300, 3000)
    assert weighted["multi"]["guaranteed_min_rarity"] == "SR"
    assert weighted["pity"]["draws"] == 200 and weighted["exchange"]["offers"]
    assert set(weighted["odds"]["tables"]) == {"main", "guaranteed", "pity"}
    box = (await client.get(f"/api/v1/gachas/{demo_gacha_id('luna-box')}")).json()
    signed = box["odds"]["tables"]["box"][0]
    assert (signed["item_id"], signed["remaining"], signed["total"]) == ("luna-cheki-signed", 3, 3)
