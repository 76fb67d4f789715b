"""A new fan's whole journey in Chromium: sign up, buy medals through the sandbox provider's
page, open a live demo gacha, confirm the draw (COMPLIANCE P2), see the reveal of the result
pushed over Socket.IO, find the item in the collection and download it. Every page passes the
accessibility check and fits 360 px; screenshots are kept as artifacts."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from koepon.app import Platform
from koepon.gacha.draws.tasks import DrawWorker
from koepon.gacha.services import GachaServices
from koepon.kernel.settings import Settings
from web.browser_kit import check_page, new_phone_page
from web.fan_kit import WEIGHTED

# The draw is held back this long, so the draw page is open (its socket connected) before the
# result exists: the test then sees the socket, not the polling fallback, deliver it.
HOLD_SECONDS = 2.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The draw request answers "accepted" at once instead of waiting for the result.
    return settings.with_service_settings("gacha", draw_wait_ms=100)


def hold_draws(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    services = platform.units["gacha"].services
    assert isinstance(services, GachaServices)
    worker: DrawWorker = services.draw_worker
    run = worker._run

    async def held(draw_id: str, **kwargs: Any) -> None:
        await asyncio.sleep(HOLD_SECONDS)
        await run(draw_id, **kwargs)

    monkeypatch.setattr(worker, "_run", held)


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
async def test_a_new_fan_signs_up_buys_draws_and_downloads(
    served: str, seeded: Platform, chromium: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = await new_phone_page(chromium)
    try:
        await page.goto(served + "/")
        await check_page(page, "fan-home")

        await page.goto(served + "/signup")
        await page.fill("input[name=email]", f"journey-{uuid.uuid4().hex[:8]}@example.jp")
        await page.fill("input[name=password]", "correct horse battery staple")
        await page.fill("input[name=display_name]", "旅するファン")
        await page.fill("input[name=birthdate]", "1990-04-01")
        await page.check("input[name=agree]")
        await page.click("form[action='/signup'] button[type=submit]")
        await page.wait_for_url(served + "/?welcome=1")

        await page.goto(served + "/wallet/buy")
        await page.locator("#packs a.btn").nth(1).click()  # ミニパック: 490 medals
        await page.click("#pay")
        await page.wait_for_url("**/sandbox/checkouts/**")
        await page.get_by_role("button", name="支払う").click()
        await page.wait_for_selector('#status[data-status="succeeded"]')
        await page.click("#return")
        await page.wait_for_selector('#checkout-box[data-status="succeeded"]', timeout=15_000)

        await page.goto(f"{served}/gachas/{WEIGHTED}")
        await check_page(page, "fan-gacha")
        await page.click(f"a[href='/gachas/{WEIGHTED}/confirm?count=1']")
        await page.wait_for_selector("#confirm")
        text = await page.locator("#confirm").inner_text()
        assert "キャンセル・返品はできません" in text and "300" in text
        await check_page(page, "fan-confirm")

        hold_draws(seeded, monkeypatch)
        await page.click("#draw-go")
        await page.wait_for_url("**/draws/*")
        await page.wait_for_selector("#draw[data-connected]", state="attached", timeout=10_000)
        await page.wait_for_selector("#draw[data-source]", state="attached", timeout=15_000)
        assert await page.get_attribute("#draw", "data-source") == "socket"
        await page.wait_for_selector("#draw[data-revealed]", state="attached", timeout=15_000)
        won = await page.locator("#results [data-item]").first.get_attribute("data-item")
        await check_page(page, "fan-draw-result")

        await page.goto(served + "/collection")
        # The item just won is in the album (one draw: the only owned item).
        assert await page.locator("[data-owned]").count() == 1
        assert await page.locator("[data-owned]").first.get_attribute("data-owned") == won
        owned = page.locator("[data-owned] a").first
        await check_page(page, "fan-collection")
        await owned.click()
        await page.wait_for_selector("#download")
        async with page.expect_download() as started:
            await page.click("#download")
        download = await started.value
        fetched = await page.request.get(download.url)
        assert fetched.status == 200 and len(await fetched.body()) > 0
    finally:
        await page.context.close()
