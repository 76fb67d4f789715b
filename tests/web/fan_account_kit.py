"""What the fan_account page tests share: a signed-in demo fan, API tokens, the purchase path."""

from __future__ import annotations

import re

import httpx

from web.pages_kit import DEMO_PASSWORD, form_token

FAN = "fan@demo.koepon.jp"
VTUBER = "vtuber@demo.koepon.jp"
IDEMPOTENCY = re.compile(r'name="idempotency_key" value="([^"]+)"')


async def api_token(http: httpx.AsyncClient, email: str) -> dict[str, str]:
    """A bearer header for the API (as an outside client, next to the browser's session)."""
    answer = await http.post("/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def first_pack(http: httpx.AsyncClient) -> dict[str, object]:
    packs = (await http.get("/api/v1/medal-packs")).json()
    assert packs
    pack: dict[str, object] = packs[0]
    return pack


async def start_checkout(http: httpx.AsyncClient, pack_id: str) -> httpx.Response:
    """Open the confirmation screen and send its form, as the browser does."""
    screen = await http.get(f"/wallet/buy/{pack_id}")
    assert screen.status_code == 200, screen.text
    found = IDEMPOTENCY.search(screen.text)
    assert found
    return await http.post(
        "/wallet/checkouts",
        data={
            "csrf_token": form_token(screen.text),
            "pack_id": pack_id,
            "idempotency_key": found.group(1),
        },
    )
