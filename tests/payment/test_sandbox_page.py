"""A full purchase over real HTTP: the platform under uvicorn on a loopback port, the sandbox's
hosted page, its signed webhook posted over the network, a paid lot in the wallet — and the same
clicked through in Chromium."""

from __future__ import annotations

import socket
import uuid
from typing import Any

import httpx
import pytest

from koepon.app import Platform
from koepon.kernel.settings import Settings
from koepon.payment.checkout.disclosures import NO_CANCELLATION_NOTICE
from payment.fixtures.shop import payment_context, payment_services

PASSWORD = "correct horse battery"


@pytest.fixture
def settings(settings: Settings, listener: socket.socket) -> Settings:
    """The platform's public URL is the loopback port it is served on: the sandbox's webhooks
    go out over the network to it."""
    port = listener.getsockname()[1]
    served = settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    return served.with_service_settings("payment", sandbox_webhook_transport="http")


async def _fan_and_pack(http: httpx.AsyncClient, platform: Platform) -> tuple[str, str, str]:
    email = f"fan-{uuid.uuid4().hex[:8]}@example.jp"
    created = await http.post(
        "/api/v1/auth/signup",
        json={
            "email": email,
            "password": PASSWORD,
            "display_name": "推し活ファン",
            "birthdate": "1995-05-05",
        },
    )
    assert created.status_code == 201, created.text
    token = (
        await http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    ).json()["access_token"]
    from koepon.payment.packs.schemas import MedalPackCreate

    ctx, services = payment_context(platform), payment_services(platform)
    async with ctx.db.transaction() as session:
        pack = await services.packs.create(
            session,
            data=MedalPackCreate(
                name="スタンダード", price_jpy=1_100, paid_medals=1_100, bonus_medals=50
            ),
        )
    return created.json()["id"], token, pack.id


async def _paid_medals(platform: Platform, user_id: str) -> tuple[int, int]:
    ctx, services = payment_context(platform), payment_services(platform)
    async with ctx.db.sessionmaker() as session:
        balance = await services.wallet_views.balance(session, user_id)
    return balance.paid_medals, balance.free_medals


async def test_a_full_purchase_through_the_sandbox_over_http(
    served: str, platform: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        user_id, token, pack_id = await _fan_and_pack(http, platform)
        auth = {"Authorization": f"Bearer {token}"}
        packs = await http.get("/api/v1/medal-packs")
        assert pack_id in [p["id"] for p in packs.json()]

        made = await http.post(
            "/api/v1/checkouts",
            json={"pack_id": pack_id, "provider": "sandbox"},
            headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert made.status_code == 201, made.text
        checkout = made.json()
        assert checkout["redirect_url"].startswith(served)

        page = await http.get(checkout["redirect_url"])  # the hosted page, over HTTP
        assert page.status_code == 200 and "支払う" in page.text
        assert NO_CANCELLATION_NOTICE in page.text and "1,100円(税込)" in page.text

        # The browser's form post: the sandbox answers with a redirect once its signed
        # webhook went over the network to /api/v1/webhooks/sandbox and was accepted.
        done = await http.post(
            f"/sandbox/checkouts/{checkout['id']}/complete", data={"outcome": "succeeded"}
        )
        assert done.status_code == 303
        after = await http.get(done.headers["location"])
        assert 'data-status="succeeded"' in after.text

        status = await http.get(f"/api/v1/checkouts/{checkout['id']}", headers=auth)
        assert status.json()["status"] == "succeeded"
        receipts = await http.get("/api/v1/receipts", headers=auth)
        assert [r["id"] for r in receipts.json()["items"]] == [checkout["id"]]
    assert await _paid_medals(platform, user_id) == (1_100, 50)


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
async def test_a_fan_pays_on_the_sandbox_page_in_chromium(
    served: str, platform: Platform, chromium: Any
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        user_id, token, pack_id = await _fan_and_pack(http, platform)
        made = await http.post(
            "/api/v1/checkouts",
            json={"pack_id": pack_id, "provider": "sandbox", "method": "card"},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
        )
        redirect_url = made.json()["redirect_url"]

    page = await chromium.new_page()
    try:
        await page.goto(redirect_url)
        assert await page.locator("#cancellation-notice").inner_text() == (NO_CANCELLATION_NOTICE)
        assert "1,100円(税込)" in await page.locator("#total").inner_text()
        await page.get_by_role("button", name="支払う").click()
        await page.wait_for_selector('#status[data-status="succeeded"]', timeout=15_000)
        assert "お支払いが完了しました" in await page.locator("#status").inner_text()
    finally:
        await page.close()
    assert await _paid_medals(platform, user_id) == (1_100, 50)
