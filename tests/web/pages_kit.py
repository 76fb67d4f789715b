"""What the page tests share: reading a form's CSRF token, signing in as a browser would."""

from __future__ import annotations

import re

import httpx

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
DEMO_PASSWORD = "koepon-demo"


def form_token(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


async def sign_in(http: httpx.AsyncClient, email: str, password: str = DEMO_PASSWORD) -> None:
    page = await http.get("/login")
    answer = await http.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": form_token(page.text)},
    )
    assert answer.status_code == 303, answer.text
    assert "koepon_session" in http.cookies
