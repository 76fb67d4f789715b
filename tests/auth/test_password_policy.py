"""Weak new passwords are refused (NIST SP 800-63B §5.1.1.2): common, trivial, contextual."""

from __future__ import annotations

import pytest

from koepon.auth.password_policy import weakness

from .conftest import AuthHarness, unique_email
from .test_api import assert_problem

WEAK = [
    "1234567890",
    "password12",
    " " * 10,
    "qwertyuiop",
    "aaaaaaaaaaaa",
    "abcdefghijk",
    "iloveyou12",
    "koepon2026!",
    "koeponkoepon",
]


@pytest.mark.parametrize("password", WEAK)
def test_common_trivial_and_service_passwords_are_weak(password: str) -> None:
    assert weakness(password, "someone@example.jp", "推し活ファン") is not None


@pytest.mark.parametrize(
    "password", ["correct horse battery", "a brand new passphrase", "夏祭りの金魚すくい"]
)
def test_unrelated_passphrases_are_accepted(password: str) -> None:
    assert weakness(password, "someone@example.jp", "推し活ファン") is None


def test_the_email_and_the_display_name_are_refused() -> None:
    assert weakness("hanako.yamada@example.jp", "hanako.yamada@example.jp", "x") is not None
    assert weakness("hanakoyamada1", "hanako.yamada@example.jp", "Hanako") is not None
    assert weakness("SakuraMiko2026", "fan@example.jp", "Sakura Miko") is not None


@pytest.mark.parametrize("password", [*WEAK, "{email}"])
async def test_signup_refuses_a_weak_password_and_creates_nothing(
    auth: AuthHarness, password: str
) -> None:
    email = unique_email()
    before = await auth.count_users()
    response = await auth.signup(email=email, password=password.format(email=email))
    body = assert_problem(response, 422, "password_too_weak")
    assert body["errors"][0]["loc"] == ["body", "password"]
    assert await auth.count_users() == before


async def test_a_reset_refuses_a_weak_password_and_the_link_still_works(auth: AuthHarness) -> None:
    account = await auth.account()
    await auth.client.post("/api/v1/auth/password-reset/request", json={"email": account.email})
    token = auth.token_in(await auth.wait_for_mail(account.email, "Reset your password"))
    weak = await auth.client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": account.email}
    )
    assert_problem(weak, 422, "password_too_weak")
    assert (await auth.login(account.email, account.password)).status_code == 200
    strong = await auth.client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "new_password": "lantern orchard velvet"},
    )
    assert strong.status_code == 204, strong.text
