"""Every link in the auth service's mails points at a page the web service serves."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI

from koepon.auth.core import PASSWORD_RESET_PAGE, VERIFY_EMAIL_PAGE
from koepon.auth.events import expiry_mail
from koepon.auth.models import User
from koepon.contracts.payment import MedalLotExpiringSoon
from koepon.kernel.cache import MemoryCache
from koepon.web.site import install_web

from .conftest import AuthHarness

PUBLIC = "https://koepon.example.jp"


async def _opens(path: str) -> bool:
    """Whether the web service alone answers ``path`` with a page."""
    app = FastAPI()
    install_web(app, MemoryCache())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get(path)
    return response.status_code == 200 and response.headers["content-type"].startswith("text/")


async def test_the_expiry_notice_links_to_the_wallet_page_not_the_json_api() -> None:
    user = User(id="u1", email="fan@example.jp", display_name="ファン")
    event = MedalLotExpiringSoon(
        user_id="u1", lot_id="l1", kind="paid", medals=500, expires_at=datetime.now(UTC)
    )
    body = expiry_mail(user, event, public_url=PUBLIC + "/").body
    assert "/api/v1/" not in body
    assert re.findall(r"https://\S+", body) == [PUBLIC + "/wallet"]
    # The wallet page is personal: signed out, it sends the fan to sign in first.
    assert await _opens("/login?next=/wallet")


async def test_the_mailed_pages_are_pages_of_the_web_service() -> None:
    assert await _opens(VERIFY_EMAIL_PAGE + "?token=abcdefghijklmnop")
    assert await _opens(PASSWORD_RESET_PAGE + "?token=abcdefghijklmnop")


async def test_sign_up_and_reset_mails_link_to_those_pages(auth: AuthHarness) -> None:
    account = await auth.account()
    await auth.client.post("/api/v1/auth/password-reset/request", json={"email": account.email})
    public = auth.platform.settings.public_url.rstrip("/")
    for subject, page in (
        ("Verify your email", VERIFY_EMAIL_PAGE),
        ("Reset your password", PASSWORD_RESET_PAGE),
    ):
        mail = await auth.wait_for_mail(account.email, subject)
        links = re.findall(r"https?://\S+", mail["body"])
        assert links == [f"{public}{page}?token={auth.token_in(mail)}"], mail["body"]


async def test_each_link_mail_states_its_own_validity_and_wording(auth: AuthHarness) -> None:
    account = await auth.account()
    await auth.client.post("/api/v1/auth/password-reset/request", json={"email": account.email})
    verify = await auth.wait_for_mail(account.email, "Verify your email")
    reset = await auth.wait_for_mail(account.email, "Reset your password")
    assert "こえポン!へようこそ" in verify["body"] and "(48時間有効)" in verify["body"]
    assert "確認コード / verification token: " + auth.token_in(verify) in verify["body"]
    assert "(1時間有効)" in reset["body"] and "パスワードは変わりません。" in reset["body"]
    assert "再設定コード / reset token: " + auth.token_in(reset) in reset["body"]
    assert "ようこそ" not in reset["body"]
