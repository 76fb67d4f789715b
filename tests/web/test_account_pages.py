"""The links in the auth mails finish their flows in a real browser (Debian Chromium)."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import httpx
import pytest

from koepon.kernel.settings import Settings

PASSWORD = "correct horse battery"
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/[a-z-]+\?token=[A-Za-z0-9_-]+)")


@pytest.fixture
def settings(settings: Settings, listener: Any) -> Settings:
    port = listener.getsockname()[1]
    return settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})


async def _signup(http: httpx.AsyncClient) -> str:
    email = f"page-{uuid.uuid4().hex[:10]}@example.jp"
    body = {
        "email": email,
        "password": PASSWORD,
        "display_name": "ファン",
        "birthdate": "1990-01-01",
    }
    assert (await http.post("/api/v1/auth/signup", json=body)).status_code == 201
    return email


async def _link(http: httpx.AsyncClient, email: str, subject: str) -> str:
    """The link in the newest mail to ``email`` about ``subject`` (the served app is local)."""
    async with asyncio.timeout(10):
        while True:
            response = await http.get("/dev/mailbox.json", params={"to": email})
            assert response.status_code == 200, response.text
            for mail in response.json():
                if subject in mail["subject"]:
                    found = LINK.search(mail["body"])
                    assert found, mail["body"]
                    return found.group(1)
            await asyncio.sleep(0.05)


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
async def test_the_verification_link_verifies_the_address(served: str, chromium: Any) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        email = await _signup(http)
        link = await _link(http, email, "Verify your email")
        assert link.startswith(served + "/verify-email?token=")
        page = await chromium.new_page()
        try:
            await page.goto(link)
            assert "token=" not in page.url  # dropped from the address bar and history
            await page.click("#verify-form button")
            await page.wait_for_selector('#flow-message[data-state="done"]')
            # The link is single-use: opening it again says so.
            await page.goto(link)
            await page.click("#verify-form button")
            await page.wait_for_selector('#flow-message[data-state="error"]')
        finally:
            await page.close()
        login = await http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        me = await http.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
        )
        assert me.json()["email_verified"] is True


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
async def test_a_forgotten_password_is_reset_from_the_pages(served: str, chromium: Any) -> None:
    new_password = "lantern orchard velvet"
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        email = await _signup(http)
        page = await chromium.new_page()
        try:
            await page.goto(served + "/login")  # the sign-in page links to the reset page
            await page.click("main a[href='/password-reset']")
            await page.wait_for_url("**/password-reset")
            await page.fill("#reset-request-form input[name=email]", email)
            await page.click("#reset-request-form button")
            await page.wait_for_selector('#flow-message[data-state="sent"]')

            link = await _link(http, email, "Reset your password")
            assert link.startswith(served + "/password-reset?token=")
            await page.goto(link)
            await page.wait_for_selector("#reset-confirm-form:not([hidden])")
            # A weak password is refused with the reason, and the link stays usable.
            await page.fill("#reset-confirm-form input[name=new_password]", "password1234")
            await page.fill("#reset-confirm-form input[name=repeat]", "password1234")
            await page.click("#reset-confirm-form button")
            await page.wait_for_selector('#flow-message[data-state="error"]')
            await page.fill("#reset-confirm-form input[name=new_password]", new_password)
            await page.fill("#reset-confirm-form input[name=repeat]", new_password)
            await page.click("#reset-confirm-form button")
            await page.wait_for_selector('#flow-message[data-state="done"]')
        finally:
            await page.close()
        old = await http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert old.status_code == 401
        new = await http.post("/api/v1/auth/login", json={"email": email, "password": new_password})
        assert new.status_code == 200, new.text
