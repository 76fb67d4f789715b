"""Every link the platform hands out opens a page: the legal notices of COMPLIANCE P1/M4, the
terms, the privacy policy, and the pages the auth mails lead to."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from koepon.app import Platform
from koepon.cli import gateway_app
from koepon.kernel.settings import Settings

LEGAL = ["/terms", "/privacy", "/legal/tokushoho", "/legal/payment-services"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"issuer_name": "株式会社テスト推し", "support_contact": "help@oshi.example.jp"}
    )


async def _get(client: httpx.AsyncClient, path: str) -> httpx.Response:
    response = await client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    assert response.headers["content-type"].startswith("text/html")
    return response


async def test_every_footer_link_opens_a_page(client: httpx.AsyncClient) -> None:
    home = await _get(client, "/")
    links = set(re.findall(r'<a href="(/[^"]*)"', home.text))
    assert set(LEGAL) <= links
    for path in sorted(links - {"/api/v1/docs"}):
        if path.startswith("/lang/"):  # the language switch: a redirect back to the page
            assert (await client.get(path, follow_redirects=True)).status_code == 200
        else:
            await _get(client, path)


async def test_tokushoho_lists_every_item_of_p1(client: httpx.AsyncClient) -> None:
    text = (await _get(client, "/legal/tokushoho")).text
    for item in (
        "販売事業者",
        "株式会社テスト推し",
        "help@oshi.example.jp",
        "所在地",
        "販売価格",
        "消費税",
        "お支払い方法とお支払いの時期",
        "コンビニ払い",
        "商品の引渡し時期",
        "デジタルコンテンツの性質上、購入後のキャンセル・返品はできません",
        "未成年の方は親権者の同意を得てから購入してください",
    ):
        assert item in text, item


async def test_payment_services_notice_lists_every_item_of_m4(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    text = (await _get(client, "/legal/payment-services")).text
    paid_days = platform.medal_terms.paid_validity_days
    for item in (
        "発行者の名称",
        "株式会社テスト推し",
        "支払可能金額等",
        f"購入日から{paid_days}日間",
        "こえポン!内のガチャでのみ",
        "help@oshi.example.jp",
        "使用上の注意",
        "未使用残高の確認方法",
        'href="/terms"',
        "供託",
    ):
        assert item in text, item
    assert "無償メダルから先に使用されます" in text


async def test_terms_and_privacy_name_the_operator(client: httpx.AsyncClient) -> None:
    terms = (await _get(client, "/terms")).text
    assert "株式会社テスト推し" in terms and "推しメダル" in terms
    privacy = (await _get(client, "/privacy")).text
    assert "生年月日" in privacy and "help@oshi.example.jp" in privacy


@pytest.mark.parametrize("path", ["/verify-email", "/password-reset"])
async def test_mailed_link_pages_exist_and_are_never_stored(
    client: httpx.AsyncClient, path: str
) -> None:
    page = await _get(client, path + "?token=abcdefghijklmnopqrstuvwxyz")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert re.search(r'src="/static/account(\.[0-9a-f]+)?\.js"', page.text)
    assert "token=" not in page.text  # the token stays in the address bar, read by the script


@pytest.mark.service_settings(payment={"paid_medal_validity_days": 120, "spend_free_first": False})
async def test_the_notice_states_what_payment_applies(client: httpx.AsyncClient) -> None:
    # Payment's own settings, not the platform's, are what the page states (web imports no
    # service: the composition root hands it payment's MedalTerms).
    text = (await _get(client, "/legal/payment-services")).text
    assert "購入日から120日間" in text
    assert "有償メダルから先に使用されます" in text


async def test_the_gateway_alone_states_payments_terms_too(tmp_path: Path) -> None:
    settings = Settings(environment="test", data_dir=tmp_path).with_service_settings(
        "payment", paid_medal_validity_days=150
    )
    app = gateway_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        text = (await _get(client, "/legal/payment-services")).text
    assert "購入日から150日間" in text


@pytest.mark.parametrize("path", LEGAL)
async def test_each_notice_has_an_english_translation_that_defers_to_the_japanese(
    client: httpx.AsyncClient, path: str
) -> None:
    english = await client.get(path, cookies={"koepon_lang": "en"})
    assert english.status_code == 200 and english.headers["content-language"] == "en"
    assert "Japanese version" in english.text and "prevails" in english.text
    assert "株式会社テスト推し" in english.text or "help@oshi.example.jp" in english.text
    japanese = await client.get(path, headers={"Accept-Language": "ja"})
    assert "prevails" not in japanese.text and japanese.headers["content-language"] == "ja"
    assert japanese.headers["cache-control"].startswith("public")


async def test_the_english_notices_keep_the_dynamic_values(client: httpx.AsyncClient) -> None:
    english = {"koepon_lang": "en"}
    terms = (await client.get("/terms", cookies=english)).text
    assert "株式会社テスト推し" in terms and "help@oshi.example.jp" in terms
    services = (await client.get("/legal/payment-services", cookies=english)).text
    assert "days from purchase" in services and "Free medals are used first." in services
    tokushoho = (await client.get("/legal/tokushoho", cookies=english)).text
    for item in ("Convenience store", "PayPay", "Returns and cancellation", "キャンセル"):
        assert item in tokushoho, item
