"""Signing in through the pages: an HttpOnly session cookie, CSRF on every form, both
languages, no open redirect."""

from __future__ import annotations

import httpx

from koepon.app import Platform
from web.pages_kit import form_token, sign_in


async def test_sign_in_opens_an_http_only_session_and_sign_out_ends_it(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        page = await http.get("/login")
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        answer = await http.post(
            "/login",
            data={
                "email": "fan@demo.koepon.jp",
                "password": "koepon-demo",
                "csrf_token": form_token(page.text),
                "next": "/fairness",
            },
        )
        assert answer.status_code == 303 and answer.headers["location"] == "/fairness"
        cookie = answer.headers["set-cookie"]
        assert "koepon_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert "access_token" not in answer.text  # the token never reaches the browser

        top = await http.get("/login")  # signed in: straight on
        assert top.status_code == 303
        home = await http.get("/terms")
        token = form_token((await http.get("/signup")).text)
        out = await http.post("/logout", data={"csrf_token": token})
        assert out.status_code == 303
        assert home.status_code == 200
        assert (await http.get("/login")).status_code == 200


async def test_a_wrong_password_is_said_plainly_and_opens_nothing(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        page = await http.get("/login")
        answer = await http.post(
            "/login",
            data={
                "email": "fan@demo.koepon.jp",
                "password": "wrong-password-1",
                "csrf_token": form_token(page.text),
            },
        )
        assert answer.status_code == 401
        assert "メールアドレスまたはパスワードが違います" in answer.text
        assert "koepon_session" not in http.cookies


async def test_cross_site_and_tokenless_form_posts_are_refused(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        await sign_in(http, "fan@demo.koepon.jp")
        token = form_token((await http.get("/signup")).text)
        evil = await http.post(
            "/logout", data={"csrf_token": token}, headers={"Origin": "https://evil.example"}
        )
        assert evil.status_code == 403
        cross = await http.post(
            "/logout", data={"csrf_token": token}, headers={"Sec-Fetch-Site": "cross-site"}
        )
        assert cross.status_code == 403
        tokenless = await http.post("/logout", data={})
        assert tokenless.status_code == 403
        forged = await http.post("/logout", data={"csrf_token": "x" * 43})
        assert forged.status_code == 403
        still = await http.get("/login")
        assert still.status_code == 303  # still signed in: nothing was done


async def test_sign_in_never_redirects_to_another_site(served: str, seeded: Platform) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        for hostile in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
            page = await http.get("/login")
            answer = await http.post(
                "/login",
                data={
                    "email": "fan@demo.koepon.jp",
                    "password": "koepon-demo",
                    "csrf_token": form_token(page.text),
                    "next": hostile,
                },
            )
            assert answer.headers["location"] == "/"
            http.cookies.clear()


async def test_pages_speak_japanese_first_and_english_on_request(
    served: str, seeded: Platform
) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        ja = await http.get("/login")
        assert "ログイン" in ja.text and '<html lang="ja">' in ja.text
        en = await http.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
        assert "Sign in" in en.text and '<html lang="en">' in en.text
        switched = await http.get("/lang/en?next=/signup")
        assert switched.status_code == 303 and switched.headers["location"] == "/signup"
        assert "Create an account" in (await http.get("/signup")).text
        away = await http.get("/lang/ja?next=https://evil.example")
        assert away.headers["location"] == "/"


def test_cookies_are_secure_when_the_platform_is_public_over_https() -> None:
    from types import SimpleNamespace
    from typing import Any, cast

    from starlette.responses import Response

    from koepon.web.sessions import WebSessions
    from koepon.web.viewer import Viewer

    def seen(scheme: str, public_https: bool) -> Viewer:
        request = SimpleNamespace(
            url=SimpleNamespace(scheme=scheme),
            app=SimpleNamespace(state=SimpleNamespace(web_public_https=public_https)),
        )
        sessions = cast(WebSessions, SimpleNamespace(idle_seconds=60))
        return Viewer(
            request=cast(Any, request), sessions=sessions, api=cast(Any, None), language="ja"
        )

    # Behind a TLS-terminating proxy the request arrives as http: the public URL decides.
    for scheme, public_https, secure in [
        ("http", True, True),
        ("https", False, True),
        ("http", False, False),
    ]:
        viewer = seen(scheme, public_https)
        viewer.remember("koepon_session", "x" * 43)
        response = Response()
        viewer.finish(response)
        assert ("secure" in response.headers["set-cookie"].lower()) is secure


async def test_with_the_session_store_down_pages_answer_503_and_change_nothing(
    platform: Platform,
) -> None:
    from koepon.app import create_app
    from koepon.kernel.cache import MemoryCache

    class Down(MemoryCache):
        async def get(self, key: str) -> bytes | None:
            raise ConnectionError("redis is gone")

    app = create_app(platform, manage_lifecycle=False)
    app.state.web_sessions.cache = Down()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        http.cookies.set("koepon_session", "s" * 43)
        page = await http.get("/wallet")
        assert page.status_code == 503 and page.headers["retry-after"] == "5"
        assert "text/html" in page.headers["content-type"]
        assert page.headers["cache-control"] == "no-store"
