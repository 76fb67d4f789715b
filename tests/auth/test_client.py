"""The auth clients: in-process and HTTP give the same answers; the internal route is guarded."""

from __future__ import annotations

import httpx
import pytest

from koepon.app import create_app
from koepon.auth.client import HttpAuthClient
from koepon.contracts.auth import AccountNotFound

from .conftest import AuthHarness

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def http_client(auth: AuthHarness, token: str) -> HttpAuthClient:
    app = create_app(auth.platform, gateway=False, manage_lifecycle=False)
    return HttpAuthClient("http://auth.internal", token, transport=httpx.ASGITransport(app=app))


def internal_token(auth: AuthHarness) -> str:
    token = auth.platform.settings.internal_token
    assert token is not None
    return token.get_secret_value()


async def test_http_and_local_clients_agree(auth: AuthHarness) -> None:
    account = await auth.account(birthdate="2001-02-03")
    await auth.client.put(
        "/api/v1/me/limits",
        headers=account.headers,
        json={"monthly_purchase_cap_jpy": 3_000, "monthly_draw_cap_medals": None},
    )
    local = auth.platform.clients.auth
    remote = http_client(auth, internal_token(auth))
    try:
        assert await remote.spending_profile(account.id) == await local.spending_profile(account.id)
        profile = await remote.spending_profile(account.id)
        assert profile.birthdate.isoformat() == "2001-02-03"
        assert profile.monthly_purchase_cap_jpy == 3_000
        assert await remote.jwks() == await local.jwks()
        for client in (local, remote):
            with pytest.raises(AccountNotFound):
                await client.spending_profile(UNKNOWN)
            with pytest.raises(AccountNotFound):
                await client.spending_profile("../../etc/passwd")
    finally:
        await remote.aclose()


async def test_internal_route_refuses_callers_without_the_internal_token(
    auth: AuthHarness,
) -> None:
    account = await auth.account()
    remote = http_client(auth, "not-the-token")
    try:
        with pytest.raises(httpx.HTTPStatusError) as refused:
            await remote.spending_profile(account.id)
        assert refused.value.response.status_code == 403
    finally:
        await remote.aclose()
