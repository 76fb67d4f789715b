"""The dev mailbox holds reset links: only this machine or a signed-in operator may read it."""

from __future__ import annotations

import pytest

from .conftest import AuthHarness, client_at
from .test_api import assert_problem

PATHS = ["/dev/mailbox", "/dev/mailbox.json"]


@pytest.mark.parametrize("path", PATHS)
async def test_another_machine_cannot_read_the_mailbox(auth: AuthHarness, path: str) -> None:
    account = await auth.account()
    await auth.wait_for_mail(account.email, "Verify your email")
    response = await auth.client.get(path)  # from 203.0.113.7
    body = assert_problem(response, 403, "dev_mailbox_local_only")
    assert account.email not in response.text
    assert "this machine" in body["detail"]


@pytest.mark.parametrize("path", PATHS)
async def test_a_fans_token_does_not_open_the_mailbox(auth: AuthHarness, path: str) -> None:
    fan = await auth.account()
    assert_problem(await auth.client.get(path, headers=fan.headers), 403, "dev_mailbox_local_only")


@pytest.mark.parametrize("path", PATHS)
async def test_a_signed_in_operator_reads_it_from_anywhere(auth: AuthHarness, path: str) -> None:
    admin = await auth.account(roles=["admin"])
    response = await auth.client.get(path, headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    # Signed out, the same token no longer opens it.
    await auth.client.post("/api/v1/auth/logout", headers=admin.headers)
    assert_problem(await auth.client.get(path, headers=admin.headers), 401)


@pytest.mark.parametrize("header", ["X-Forwarded-For", "Forwarded", "X-Real-IP"])
async def test_a_request_relayed_by_a_local_proxy_is_not_local(
    auth: AuthHarness, header: str
) -> None:
    response = await auth.local.get("/dev/mailbox.json", headers={header: "203.0.113.9"})
    assert_problem(response, 403, "dev_mailbox_local_only")


async def test_this_machine_reads_it_and_the_page_says_who_may(auth: AuthHarness) -> None:
    account = await auth.account()
    await auth.wait_for_mail(account.email, "Verify your email")
    for address in ("127.0.0.1", "::1"):
        async with client_at(auth.platform, address) as local:
            page = await local.get("/dev/mailbox")
        assert page.status_code == 200, page.text
        assert account.email in page.text
        assert "loopback" in page.text and "admin" in page.text and "production" in page.text
