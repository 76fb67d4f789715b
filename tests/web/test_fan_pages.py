"""The fan page in Chromium: sign in with the demo account, buy medals through the sandbox,
come back, see the paid medals in the wallet, and draw from a demo gacha after its final
confirmation screen (COMPLIANCE P2)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from koepon.app import Platform
from koepon.kernel.settings import Settings
from koepon.seed import seed_demo


@pytest.fixture
def settings(settings: Settings, listener: Any) -> Settings:
    port = listener.getsockname()[1]
    served = settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    return served.with_service_settings("payment", sandbox_webhook_transport="http")


@pytest.fixture
async def seeded(platform: Platform) -> Platform:
    await seed_demo(platform)
    return platform


async def test_home_page_renders_with_the_notices(served: str, seeded: Platform) -> None:
    async with httpx.AsyncClient(base_url=served) as http:
        page = await http.get("/")
    assert page.status_code == 200
    assert "デジタルコンテンツの性質上、購入後のキャンセル・返品はできません" in page.text
    assert "未成年の方は親権者の同意を得てから購入してください" in page.text
    assert page.headers["x-content-type-options"] == "nosniff"


async def test_unknown_checkout_return_page_is_not_found(served: str, seeded: Platform) -> None:
    async with httpx.AsyncClient(base_url=served) as http:
        page = await http.get("/checkouts/abc/elsewhere")
    assert page.status_code == 404


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
async def test_demo_fan_buys_medals_from_the_home_page(
    served: str, seeded: Platform, chromium: Any
) -> None:
    page = await chromium.new_page()
    try:
        await page.goto(served + "/")
        await page.wait_for_selector("#packs button")
        await page.fill("#login-form input[name=email]", "fan@demo.koepon.jp")
        await page.fill("#login-form input[name=password]", "koepon-demo")
        await page.click("#login-form button")
        await page.wait_for_selector("#wallet:not([hidden])")
        before = int(await page.locator("#paid-medals").inner_text())

        await page.locator("#packs button").nth(2).click()  # 1,100 medals: enough for a draw
        await page.wait_for_url("**/sandbox/checkouts/**")
        await page.get_by_role("button", name="支払う").click()
        await page.wait_for_selector('#status[data-status="succeeded"]')
        await page.click("#return")
        await page.wait_for_url("**/checkouts/*/success")
        await page.wait_for_selector("#checkout-status:text-is('succeeded')")

        await page.goto(served + "/")
        await page.wait_for_selector("#wallet:not([hidden])")
        after = int(await page.locator("#paid-medals").inner_text())
        assert after > before

        await page.wait_for_selector("#gachas button")
        await page.locator("#gachas button", has_text="1回引く").first.click()
        await page.wait_for_selector("#confirm-draw[open]")
        confirmation = await page.locator("#confirm-draw").inner_text()
        assert "キャンセル・返品はできません" in confirmation and "メダル" in confirmation
        await page.click("#confirm-go")
        await page.wait_for_selector("#draw-result div")
        drawn = await page.locator("#draw-result").inner_text()
        assert any(rarity in drawn for rarity in ("N", "R", "SR", "SSR", "UR")), drawn
        spent = page.locator("#paid-medals")
        await expect(spent).not_to_have_text(str(after))
        assert int(await spent.inner_text()) < after
    finally:
        await page.close()
