"""Answers carrying tokens or personal data are ``Cache-Control: no-store`` (RFC 6749 §5.1),
whichever service gave them; public answers keep their own caching."""

from __future__ import annotations

import uuid

import httpx

PASSWORD = "correct horse battery"


async def _signed_in(client: httpx.AsyncClient) -> tuple[dict[str, str], httpx.Response]:
    email = f"nostore-{uuid.uuid4().hex[:10]}@example.jp"
    body = {
        "email": email,
        "password": PASSWORD,
        "display_name": "ファン",
        "birthdate": "1990-01-01",
    }
    created = await client.post("/api/v1/auth/signup", json=body)
    assert created.status_code == 201, created.text
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}, login


def _no_store(response: httpx.Response) -> None:
    assert response.headers.get("cache-control") == "no-store", (
        response.request.url,
        response.status_code,
        response.headers.get("cache-control"),
    )


async def test_token_and_personal_answers_are_never_stored(client: httpx.AsyncClient) -> None:
    headers, login = await _signed_in(client)
    _no_store(login)
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": login.json()["refresh_token"]}
    )
    assert refreshed.status_code == 200
    _no_store(refreshed)
    headers = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    for path in ("/api/v1/me", "/api/v1/me/limits", "/api/v1/wallet", "/api/v1/receipts"):
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.text)
        _no_store(response)


async def test_refusals_on_personal_paths_are_not_stored_either(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/api/v1/wallet", "/api/v1/receipts", "/api/v1/me"):
        response = await client.get(path)
        assert response.status_code == 401
        _no_store(response)
    bad = await client.post("/api/v1/auth/login", json={"email": "x@example.jp", "password": "y"})
    _no_store(bad)


async def test_public_answers_keep_their_caching(client: httpx.AsyncClient) -> None:
    jwks = await client.get("/.well-known/jwks.json")
    assert jwks.headers["cache-control"] == "public, max-age=300"
    packs = await client.get("/api/v1/medal-packs")
    assert packs.headers.get("cache-control") != "no-store"
