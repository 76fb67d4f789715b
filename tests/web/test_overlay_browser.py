"""The stream overlay in Chromium (COMPLIANCE I1): OBS opens the secret overlay URL, a fan who
opted in pulls an SSR from a gacha whose every item is SSR, and the overlay shows the big
reveal with the fan's display name (pushed over Socket.IO), plus the odds link and QR code."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from koepon.app import Platform
from web.admin_kit import Api, submitted_gacha
from web.browser_kit import check_page
from web.overlay_kit import rotate_overlay_token

FAN_NAME = "推し活ファン"  # the demo fan's display name (koepon.seed)


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
async def test_the_overlay_shows_a_fans_ssr_pull_as_a_big_reveal(
    served: str, seeded: Platform, chromium: Any
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        vtuber = await Api.sign_in(http, "vtuber@demo.koepon.jp")
        admin = await Api.sign_in(http, "admin@demo.koepon.jp")
        fan = await Api.sign_in(http, "fan@demo.koepon.jp")
        _vtuber_id, token = await rotate_overlay_token(http, vtuber)
        gacha_id = await submitted_gacha(vtuber, "SSRだけのガチャ")
        await admin.send("POST", f"/api/v1/admin/gachas/{gacha_id}/approve", {})
        fan_id = (await fan.get("/api/v1/me"))["id"]
        await admin.send(
            "POST",
            f"/api/v1/admin/wallets/{fan_id}/grants",
            {"medals": 3000, "reason": "overlay test"},
            status=None,
        )

        context = await chromium.new_context(viewport={"width": 1280, "height": 720})
        page = await context.new_page()
        try:
            await page.goto(f"{served}/overlay/{token}")
            await page.wait_for_selector(
                "#overlay-live[data-connected]", state="attached", timeout=10_000
            )
            assert await page.locator(f'a[href="{served}/gachas/{gacha_id}"]').count() == 1
            # Two pulls at once: both are shown, one after another (none is lost).
            for _ in range(2):
                await fan.send(
                    "POST",
                    f"/api/v1/gachas/{gacha_id}/draws",
                    {"count": 1, "show_on_stream": True},
                    status=None,
                )
            big = page.locator('[data-pulls] li[data-big="true"]')
            await big.first.wait_for(timeout=15_000)
            assert FAN_NAME in await big.first.inner_text()
            assert "reveal-SSR" in (await big.first.get_attribute("class") or "")
            for _ in range(50):
                if await big.count() == 2:
                    break
                await asyncio.sleep(0.2)
            assert await big.count() == 2
            await check_page(page, "overlay-live")
        finally:
            await context.close()
