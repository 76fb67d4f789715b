"""Who may open the fan area's pages: the public ones for anybody, the personal ones for the
signed-in fan (anonymous visitors are sent to sign in), another fan's draw or item refused, and
every form post checked for this site's origin and token."""

from __future__ import annotations

import httpx
import pytest

from koepon.app import Platform
from web.fan_kit import BOX, WEIGHTED, signed_in_fan

PUBLIC = ["/", f"/gachas/{WEIGHTED}", f"/gachas/{BOX}/stock", f"/gachas/{WEIGHTED}/odds"]
SIGNED_IN = [
    f"/gachas/{WEIGHTED}/confirm?count=1",
    "/collection",
    "/draws/00000000-0000-0000-0000-000000000000",
    "/draws/00000000-0000-0000-0000-000000000000/result",
    "/collection/00000000-0000-0000-0000-000000000000",
    "/collection/exports/00000000-0000-0000-0000-000000000000",
]
FORMS = [
    f"/gachas/{WEIGHTED}/draws",
    "/collection/export",
    "/collection/00000000-0000-0000-0000-000000000000/download",
    "/collection/exports/00000000-0000-0000-0000-000000000000/download",
]


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
async def test_who_gets_in(served: str, seeded: Platform) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as anonymous:
        for path in PUBLIC:
            assert (await anonymous.get(path)).status_code == 200, path
        for path in SIGNED_IN:
            answer = await anonymous.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/login?next="), path
        for path in FORMS:
            assert (await anonymous.post(path, data={})).status_code == 403, path
    async with httpx.AsyncClient(base_url=served, timeout=30) as fan:
        await signed_in_fan(fan)
        for path in PUBLIC + SIGNED_IN[:2]:
            assert (await fan.get(path)).status_code == 200, path
        for path in SIGNED_IN[2:5]:
            assert (await fan.get(path)).status_code == 404, path
        for path in FORMS:
            refused = await fan.post(path, data={}, headers={"Origin": "https://evil.example"})
            assert refused.status_code == 403, path
            assert (await fan.post(path, data={"csrf_token": "wrong"})).status_code == 403, path
