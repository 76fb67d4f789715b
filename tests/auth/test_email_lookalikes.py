"""One address, one account: sign-up, sign-in and reset share one normaliser (NFKC, IDNA)."""

from __future__ import annotations

import uuid

import pytest

from koepon.auth.emails import EmailRefused, normalise_email

from .conftest import PASSWORD, AuthHarness
from .test_api import assert_problem


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Fan@Example.JP", "fan@example.jp"),
        ("ｆａｎ@example.jp", "fan@example.jp"),
        ("ｆａｎ＠ｅｘａｍｐｌｅ．ｊｐ", "fan@example.jp"),
        ("  fan@example.jp ", "fan@example.jp"),
        ("fan@Bücher.de", "fan@xn--bcher-kva.de"),
        ("山田たろう@example.jp", "山田たろう@example.jp"),
    ],
)
def test_spellings_of_one_address_normalise_to_one_form(typed: str, stored: str) -> None:
    assert normalise_email(typed) == stored


@pytest.mark.parametrize("typed", ["fаn@example.jp", "pаypal@example.jp", "ｆаn@example.jp"])
def test_local_parts_mixing_scripts_are_refused(typed: str) -> None:  # Cyrillic а inside
    with pytest.raises(EmailRefused, match="scripts"):
        normalise_email(typed)


def _local() -> str:
    return f"fan{uuid.uuid4().hex[:8]}"


async def test_a_full_width_twin_is_the_same_account(auth: AuthHarness) -> None:
    local = _local()
    assert (await auth.signup(email=f"{local}@example.jp")).status_code == 201
    wide = "".join(chr(ord(c) + 0xFEE0) for c in local) + "@example.jp"
    assert_problem(await auth.signup(email=wide), 409, "email_taken")


async def test_a_cyrillic_look_alike_is_refused(auth: AuthHarness) -> None:
    before = await auth.count_users()
    response = await auth.signup(email=f"{_local()}\u0430@example.jp")
    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"] == ["body", "email"]
    assert await auth.count_users() == before


async def test_a_full_width_domain_signs_in_however_it_is_typed(auth: AuthHarness) -> None:
    local = _local()
    created = await auth.signup(email=f"{local}@ｅｘａｍｐｌｅ．ｊｐ")
    assert created.status_code == 201, created.text
    assert created.json()["email"] == f"{local}@example.jp"
    for typed in (
        f"{local}@ｅｘａｍｐｌｅ．ｊｐ",
        f"{local}@example.jp",
        f"{local.upper()}@EXAMPLE.JP",
    ):
        assert (await auth.login(typed, PASSWORD)).status_code == 200, typed


async def test_a_reset_asked_with_another_spelling_reaches_the_account(auth: AuthHarness) -> None:
    account = await auth.account()
    wide = "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in account.email)
    response = await auth.client.post("/api/v1/auth/password-reset/request", json={"email": wide})
    assert response.status_code == 202
    assert auth.token_in(await auth.wait_for_mail(account.email, "Reset your password"))
