"""Who may open which page: every page route of the web app, asked by every kind of visitor.

Routes are enumerated from the app, so a new page lands here without anyone remembering it:
unless it is listed as public (with the reason), an anonymous visitor is sent to sign in; every
form post without this site's origin and CSRF token is refused with 403 and changes nothing;
the admin console refuses a fan; a studio refuses anyone outside the VTuber's team.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI

from koepon.app import Platform, create_app
from test_authorization_matrix import Route, is_page, platform_routes
from web.pages_kit import form_token, sign_in

# Every page an anonymous visitor may open, and why. Adding one means adding it here.
PUBLIC_PAGES: dict[Route, str] = {
    ("GET", "/login"): "signing in",
    ("GET", "/signup"): "creating an account",
    ("GET", "/lang/{language}"): "the language switch",
    ("GET", "/terms"): "legal page",
    ("GET", "/privacy"): "legal page",
    ("GET", "/legal/tokushoho"): "legal page (特定商取引法に基づく表記)",
    ("GET", "/legal/payment-services"): "legal page (資金決済法に基づく表示)",
    ("GET", "/verify-email"): "the page a verification mail links to (its token is the key)",
    ("GET", "/password-reset"): "the page a reset mail links to (its token is the key)",
    ("GET", "/static/{path:path}"): "stylesheets, scripts and images of the pages",
    ("GET", "/overlay/{token}"): "the OBS browser source; its secret token is the key",
    ("GET", "/"): "the storefront: live and upcoming gachas, VTubers",
    ("GET", "/gachas/{gacha_id}"): "a gacha with its full odds disclosure (G6, G7), indexable",
    ("GET", "/gachas/{gacha_id}/stock"): "a box's remaining stock, refreshed live",
    ("GET", "/gachas/{gacha_id}/odds"): "the public change log of the odds (G4)",
    ("GET", "/fairness"): "how draws are made and verified (G9)",
    ("GET", "/fairness/verifier.py"): "the standalone verifier to download (G9)",
    ("GET", "/vtubers"): "the directory of approved VTubers",
    ("GET", "/vtubers/{vtuber_id}"): "an approved VTuber's page",
}
# Form posts an anonymous visitor may make (with this site's origin and form token).
ANONYMOUS_FORMS: set[Route] = {("POST", "/login"), ("POST", "/signup"), ("POST", "/logout")}
VALUES = {
    "language": "en",
    "outcome": "success",
    "path:path": "fan-previews.js",
    "month": "2026-10",
}


def page_routes(app: FastAPI) -> set[Route]:
    return {route for route in platform_routes(app) if is_page(route)}


def concrete(path: str) -> str:
    out = path
    while "{" in out:
        start = out.index("{")
        end = out.index("}", start)
        name = out[start + 1 : end]
        out = out[:start] + VALUES.get(name, uuid.uuid4().hex) + out[end + 1 :]
    return out


@pytest.fixture
def app(platform: Platform) -> FastAPI:
    return create_app(platform, manage_lifecycle=False)


def test_every_listed_page_exists(app: FastAPI) -> None:
    routes = page_routes(app)
    listed = set(PUBLIC_PAGES) | ANONYMOUS_FORMS
    assert not listed - routes, f"listed but gone: {listed - routes}"
    assert len(routes) > 20, sorted(routes)


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
async def test_anonymous_visitors_are_sent_to_sign_in_except_on_public_pages(
    served: str, app: FastAPI
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        for route in sorted(page_routes(app)):
            method, path = route
            if method != "GET":
                continue
            answer = await http.get(concrete(path))
            if route in PUBLIC_PAGES:
                assert answer.status_code in (200, 303, 404), (route, answer.status_code)
                if answer.status_code == 303:
                    assert not answer.headers["location"].startswith("/login"), route
            else:
                assert answer.status_code in (303, 404), (route, answer.status_code)
                if answer.status_code == 303:
                    assert answer.headers["location"].startswith("/login?next="), route
                assert "no-store" in answer.headers.get("cache-control", ""), route


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
async def test_form_posts_without_origin_or_token_are_refused_everywhere(
    served: str, app: FastAPI, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        await sign_in(http, "fan@demo.koepon.jp")
        token = form_token((await http.get("/signup")).text)
        for route in sorted(page_routes(app)):
            method, path = route
            if method == "GET":
                continue
            url = concrete(path)
            cross = await http.request(
                method, url, data={"csrf_token": token}, headers={"Origin": "https://evil.example"}
            )
            assert cross.status_code == 403, (route, "cross-site", cross.status_code)
            tokenless = await http.request(method, url, data={})
            assert tokenless.status_code in (403, 422), (route, "tokenless", tokenless.status_code)
        assert (await http.get("/login")).status_code == 303  # still signed in


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
async def test_a_fan_is_refused_in_the_admin_console_and_in_other_teams_studios(
    served: str, app: FastAPI, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        await sign_in(http, "fan@demo.koepon.jp")
        for route in sorted(page_routes(app)):
            method, path = route
            if method != "GET":
                continue
            if path.startswith("/admin"):
                answer = await http.get(concrete(path))
                assert answer.status_code == 403, (route, answer.status_code)
            elif path.startswith("/studio/{vtuber_id}"):
                answer = await http.get(concrete(path))
                assert answer.status_code in (403, 404), (route, answer.status_code)
