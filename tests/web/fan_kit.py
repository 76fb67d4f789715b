"""What the fan page tests share: the demo fan with medals granted by the demo admin, the
confirmation form's fields, a live gacha whose title, item names and VTuber name are scripts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from koepon.seed import demo_gacha_id
from web.admin_kit import Api, demo_items, demo_vtuber_id
from web.pages_kit import form_token, sign_in

XSS = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
FAN = "fan@demo.koepon.jp"
VTUBER = "vtuber@demo.koepon.jp"
ADMIN = "admin@demo.koepon.jp"
WEIGHTED = demo_gacha_id("luna-first")
BOX = demo_gacha_id("luna-box")
KEY = re.compile(r'name="idempotency_key" value="([0-9a-f]+)"')


async def grant(http: httpx.AsyncClient, email: str, medals: int) -> Api:
    """``email`` signed in to the API, holding ``medals`` more free medals (an admin grant)."""
    fan = await Api.sign_in(http, email)
    admin = await Api.sign_in(http, ADMIN)
    me = await fan.get("/api/v1/me")
    await admin.send(
        "POST",
        f"/api/v1/admin/wallets/{me['id']}/grants",
        {"medals": medals, "reason": "fan page test"},
        status=None,
    )
    return fan


async def balance(fan: Api) -> int:
    wallet = await fan.get("/api/v1/wallet")
    return int(wallet["paid_medals"]) + int(wallet["free_medals"])


async def confirmation(http: httpx.AsyncClient, gacha_id: str, count: int = 1) -> dict[str, str]:
    """The confirmation screen's form fields (the page must already be signed in)."""
    page = await http.get(f"/gachas/{gacha_id}/confirm", params={"count": count})
    assert page.status_code == 200, page.text
    key = KEY.search(page.text)
    assert key, "the confirmation screen has no idempotency key"
    return {"csrf_token": form_token(page.text), "count": str(count), "idempotency_key": key[1]}


async def signed_in_fan(http: httpx.AsyncClient, medals: int = 0) -> Api:
    fan = await grant(http, FAN, medals) if medals else await Api.sign_in(http, FAN)
    await sign_in(http, FAN)
    return fan


async def scripted_gacha(http: httpx.AsyncClient) -> tuple[str, str]:
    """A live gacha of the demo VTuber, whose title, item names and VTuber name are scripts,
    made through the API (draft, submit, approve): (gacha id, vtuber id)."""
    vtuber = await Api.sign_in(http, VTUBER)
    admin = await Api.sign_in(http, ADMIN)
    vtuber_id = await demo_vtuber_id(vtuber)
    await vtuber.send("PATCH", f"/api/v1/vtubers/{vtuber_id}", {"display_name": XSS + "ルナ"})
    items = (await demo_items(vtuber))[:2]
    start = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    config = {
        "kind": "weighted",
        "price_medals": 100,
        "price_jpy": 100,
        "period": {"starts_at": start, "ends_at": None},
        "items": [
            {"item_id": f"x-{n}", "content_id": i["content_id"], "rarity": "R", "name": XSS}
            for n, i in enumerate(items)
        ],
        "main": [{"item_id": f"x-{n}", "weight": 1} for n in range(len(items))],
    }
    made = await vtuber.send(
        "POST",
        f"/api/v1/vtubers/{vtuber_id}/gachas",
        {"title": XSS, "description": XSS, "config": config},
        status=201,
    )
    await vtuber.send("POST", f"/api/v1/gachas/{made['id']}/submit", {})
    await admin.send("POST", f"/api/v1/admin/gachas/{made['id']}/approve", {})
    return str(made["id"]), vtuber_id
