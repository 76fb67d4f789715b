"""What the studio page tests share: the demo VTuber's id, its team grown by the demo fan in a
given role, a weighted configuration of the demo contents, a draft made through the API."""

from __future__ import annotations

from typing import Any

import httpx

from web.admin_kit import Api, demo_items, demo_vtuber_id
from web.pages_kit import DEMO_PASSWORD

XSS = "<script>alert(1)</script>"
OWNER = "vtuber@demo.koepon.jp"
FAN = "fan@demo.koepon.jp"
# A 1×1 PNG: the smallest picture the upload checks accept.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5f6e7b00000000049454e44ae426082"
)


async def browser_sign_in(page: Any, served: str, email: str, next_path: str) -> None:
    await page.goto(f"{served}/login?next={next_path}")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", DEMO_PASSWORD)
    await page.click("main form button[type=submit]")
    await page.wait_for_url(f"{served}{next_path}")


async def fan_joins(http: httpx.AsyncClient, role: str) -> tuple[str, str]:
    """The demo fan joins the demo VTuber's team as ``role``: (vtuber id, fan user id)."""
    owner = await Api.sign_in(http, OWNER)
    fan = await Api.sign_in(http, FAN)
    vtuber_id = await demo_vtuber_id(owner)
    made = await owner.send(
        "POST", f"/api/v1/vtubers/{vtuber_id}/members", {"email": FAN, "role": role}, status=201
    )
    await fan.send("POST", f"/api/v1/vtuber-invitations/{made['id']}/accept", {})
    me = await fan.get("/api/v1/me")
    return vtuber_id, str(me["id"])


def weighted_config(items: list[dict[str, Any]], start: str) -> dict[str, Any]:
    chosen = items[:2]
    return {
        "kind": "weighted",
        "price_medals": 100,
        "price_jpy": 100,
        "period": {"starts_at": start, "ends_at": None},
        "items": [
            {"item_id": f"it-{n}", "content_id": i["content_id"], "rarity": r, "name": f"{XSS}{n}"}
            for n, (i, r) in enumerate(zip(chosen, ("R", "SSR"), strict=False))
        ],
        "main": [{"item_id": "it-0", "weight": 9}, {"item_id": "it-1", "weight": 1}],
    }


async def draft(http: httpx.AsyncClient, title: str = XSS) -> tuple[str, str]:
    """A draft of the demo VTuber made through the API: (vtuber id, gacha id)."""
    owner = await Api.sign_in(http, OWNER)
    vtuber_id = await demo_vtuber_id(owner)
    config = weighted_config(await demo_items(owner), "2030-01-01T00:00:00+09:00")
    made = await owner.send(
        "POST",
        f"/api/v1/vtubers/{vtuber_id}/gachas",
        {"title": title, "description": XSS, "config": config},
        status=201,
    )
    return vtuber_id, str(made["id"])
