"""The auth API end to end, behind the gateway, on the embedded and the distributed backend."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from argon2 import PasswordHasher

from koepon.auth.keys import SigningKey
from koepon.auth.models import User
from koepon.auth.passwords import Passwords
from koepon.contracts.auth import AccountRegistered

from .conftest import PASSWORD, AuthHarness, unique_email

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, code: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    if code:
        assert body["code"] == code, body
    return body


# -- sign-up, sign-in, refresh, logout, me -------------------------------------------------------


async def test_signup_login_refresh_logout_and_me(auth: AuthHarness) -> None:
    email = unique_email()
    created = await auth.signup(email=email.upper(), display_name=" ルナ推し ")
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["email"] == email  # stored lowercased
    assert user["display_name"] == "ルナ推し"
    assert user["roles"] == ["fan"]
    assert user["email_verified"] is False
    assert "birthdate" not in user

    login = await auth.login(email.upper())
    assert login.status_code == 200, login.text
    pair = login.json()
    assert pair["token_type"] == "Bearer"
    assert pair["expires_in"] == 900
    headers = {"Authorization": f"Bearer {pair['access_token']}"}

    me = await auth.client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["id"] == user["id"]
    assert body["email"] == email
    assert body["roles"] == ["fan"]
    assert body["age_bracket"] == "adult"
    assert "birthdate" not in body
    assert body["limits"] == {
        "monthly_purchase_cap_jpy": None,
        "monthly_draw_cap_medals": None,
        "pending": [],
        "cooling_off_until": None,
    }

    refreshed = await auth.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    new_pair = refreshed.json()
    assert new_pair["refresh_token"] != pair["refresh_token"]
    new_headers = {"Authorization": f"Bearer {new_pair['access_token']}"}
    assert (await auth.client.get("/api/v1/me", headers=new_headers)).status_code == 200

    logout = await auth.client.post(
        "/api/v1/auth/logout",
        headers=new_headers,
        json={"refresh_token": new_pair["refresh_token"]},
    )
    assert logout.status_code == 204, logout.text
    # The access tokens are still cryptographically valid, but their session has ended.
    assert_problem(await auth.client.get("/api/v1/me", headers=new_headers), 401, "unauthenticated")
    assert_problem(await auth.client.get("/api/v1/me", headers=headers), 401, "unauthenticated")
    assert_problem(
        await auth.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": new_pair["refresh_token"]}
        ),
        401,
    )


async def test_access_token_carries_the_claims_every_service_verifies(auth: AuthHarness) -> None:
    account = await auth.account()
    jwks = (await auth.client.get("/.well-known/jwks.json")).json()
    [jwk] = jwks["keys"]
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and jwk["alg"] == "EdDSA"
    assert "d" not in jwk  # never the private part
    header = jwt.get_unverified_header(account.access_token)
    assert header["alg"] == "EdDSA" and header["kid"] == jwk["kid"]
    settings = auth.platform.settings
    claims = jwt.decode(
        account.access_token,
        key=jwt.PyJWK.from_dict(jwk).key,
        algorithms=["EdDSA"],
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
    )
    assert claims["sub"] == account.id
    assert claims["typ"] == "access"
    assert claims["roles"] == ["fan"]
    assert claims["sid"]
    assert claims["exp"] - claims["iat"] == auth.service.auth_settings.access_token_seconds


async def test_logout_without_a_body_ends_the_session_and_its_refresh_family(
    auth: AuthHarness,
) -> None:
    account = await auth.account()
    assert (
        await auth.client.post("/api/v1/auth/logout", headers=account.headers)
    ).status_code == 204
    assert_problem(await auth.client.get("/api/v1/me", headers=account.headers), 401)
    assert_problem(
        await auth.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": account.refresh_token}
        ),
        401,
    )


async def test_two_sign_ins_are_two_sessions_and_logout_ends_only_one(auth: AuthHarness) -> None:
    first = await auth.account()
    second = (await auth.login(first.email)).json()
    second_headers = {"Authorization": f"Bearer {second['access_token']}"}
    await auth.client.post("/api/v1/auth/logout", headers=first.headers)
    assert (await auth.client.get("/api/v1/me", headers=second_headers)).status_code == 200
    assert_problem(await auth.client.get("/api/v1/me", headers=first.headers), 401)


async def test_login_rehashes_a_password_hashed_with_older_parameters(auth: AuthHarness) -> None:
    account = await auth.account()
    async with auth.service.db.transaction() as session:
        old_hash = (await session.get(User, account.id)).password_hash  # type: ignore[union-attr]
    auth.service.passwords = Passwords(PasswordHasher(time_cost=2, memory_cost=8192, parallelism=1))
    assert (await auth.login(account.email)).status_code == 200
    async with auth.service.db.transaction() as session:
        new_hash = (await session.get(User, account.id)).password_hash  # type: ignore[union-attr]
    assert new_hash != old_hash and "t=2" in new_hash
    assert (await auth.login(account.email)).status_code == 200


async def test_wrong_password_and_unknown_email_get_the_same_answer(auth: AuthHarness) -> None:
    account = await auth.account()
    wrong = assert_problem(await auth.login(account.email, "not the password"), 401)
    unknown = assert_problem(await auth.login(unique_email(), "not the password"), 401)
    assert wrong["code"] == unknown["code"] == "invalid_credentials"
    assert wrong["detail"] == unknown["detail"]


async def test_duplicate_signup_is_refused_with_email_taken(auth: AuthHarness) -> None:
    email = unique_email()
    assert (await auth.signup(email=email)).status_code == 201
    before = await auth.count_users()
    assert_problem(await auth.signup(email=email.upper()), 409, "email_taken")
    assert await auth.count_users() == before


async def test_concurrent_signups_with_one_email_create_one_account(auth: AuthHarness) -> None:
    email = unique_email()
    responses = await asyncio.gather(*(auth.signup(email=email) for _ in range(3)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409], [r.text for r in responses]


# -- refresh-token families ------------------------------------------------------------------


async def test_reusing_a_spent_refresh_token_revokes_the_whole_family(auth: AuthHarness) -> None:
    account = await auth.account()
    first = account.refresh_token
    second = (await auth.client.post("/api/v1/auth/refresh", json={"refresh_token": first})).json()
    third = (
        await auth.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
        )
    ).json()
    newest_headers = {"Authorization": f"Bearer {third['access_token']}"}
    assert (await auth.client.get("/api/v1/me", headers=newest_headers)).status_code == 200

    # Someone replays the first (spent) token: refused, and the family dies with it.
    assert_problem(
        await auth.client.post("/api/v1/auth/refresh", json={"refresh_token": first}),
        401,
        "refresh_token_reused",
    )
    assert_problem(
        await auth.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": third["refresh_token"]}
        ),
        401,
    )
    assert_problem(await auth.client.get("/api/v1/me", headers=newest_headers), 401)
    # Other sign-ins of the same user are untouched.
    other = (await auth.login(account.email)).json()
    assert (
        await auth.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]}
        )
    ).status_code == 200


async def test_unknown_and_expired_refresh_tokens_are_refused(auth: AuthHarness) -> None:
    assert_problem(
        await auth.client.post("/api/v1/auth/refresh", json={"refresh_token": "x" * 43}),
        401,
        "refresh_token_invalid",
    )
    account = await auth.account()
    auth.freeze(datetime.now(UTC) + timedelta(days=31))
    assert_problem(
        await auth.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": account.refresh_token}
        ),
        401,
        "refresh_token_invalid",
    )


# -- forged and expired access tokens ----------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict, claims: dict) -> str:  # type: ignore[type-arg]
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


def _claims(auth: AuthHarness, account_id: str, sid: str, **overrides: object) -> dict:  # type: ignore[type-arg]
    now = int(datetime.now(UTC).timestamp())
    settings = auth.platform.settings
    claims: dict[str, object] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": account_id,
        "sid": sid,
        "roles": ["admin"],
        "typ": "access",
        "iat": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return claims


@pytest.mark.parametrize(
    "forgery", ["expired", "tampered", "alg_none", "hs256_with_public_pem", "hs256_with_jwk_x"]
)
async def test_forged_or_expired_access_tokens_are_refused(auth: AuthHarness, forgery: str) -> None:
    account = await auth.account()
    sid = jwt.decode(account.access_token, options={"verify_signature": False})["sid"]
    key: SigningKey = auth.service.access_tokens.key
    if forgery == "expired":
        past = int(datetime.now(UTC).timestamp()) - 3600
        token = jwt.encode(
            _claims(auth, account.id, sid, roles=["fan"], iat=past - 900, exp=past),
            key.private_key,
            algorithm="EdDSA",
            headers={"kid": key.kid},
        )
    elif forgery == "tampered":
        header, payload, signature = account.access_token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["roles"] = ["admin"]
        token = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    elif forgery == "alg_none":
        token = (
            _unsigned({"alg": "none", "typ": "JWT", "kid": key.kid}, _claims(auth, account.id, sid))
            + "."
        )
    else:
        secret = (
            key.public_pem()
            if forgery == "hs256_with_public_pem"
            else key.public_jwk()["x"].encode()
        )
        signing_input = _unsigned(
            {"alg": "HS256", "typ": "JWT", "kid": key.kid}, _claims(auth, account.id, sid)
        )
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{_b64(signature)}"
    headers = {"Authorization": f"Bearer {token}"}
    assert_problem(await auth.client.get("/api/v1/me", headers=headers), 401)
    assert_problem(await auth.client.get("/api/v1/admin/users/" + account.id, headers=headers), 401)


# -- bad input changes nothing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "content"),
    [
        ("malformed json", b'{"email": "a@example.jp", "password": '),
        ("not an object", b'["a@example.jp"]'),
        ("email wrong type", {"email": 123}),
        ("email invalid", {"email": "not-an-email"}),
        ("email too long", {"email": "a" * 250 + "@example.jp"}),
        ("password too short", {"password": "short"}),
        ("password too long", {"password": "p" * 129}),
        ("password null", {"password": None}),
        ("display name blank", {"display_name": "   "}),
        ("display name too long", {"display_name": "名" * 51}),
        ("display name control chars", {"display_name": "a\u0000b"}),
        ("birthdate as number", {"birthdate": 19950505}),
        ("birthdate garbage", {"birthdate": "05/05/1995"}),
        ("birthdate in the future", {"birthdate": "2999-01-01"}),
        ("birthdate too old", {"birthdate": "1850-01-01"}),
        ("unknown field", {"roles": ["admin"]}),
        ("huge body", {"display_name": "x" * 2_000_000}),
    ],
)
async def test_bad_signup_input_is_a_problem_and_creates_nothing(
    auth: AuthHarness, case: str, content: object
) -> None:
    before = await auth.count_users()
    if isinstance(content, bytes):
        response = await auth.client.post(
            "/api/v1/auth/signup", content=content, headers={"content-type": "application/json"}
        )
    else:
        body = {
            "email": unique_email(),
            "password": PASSWORD,
            "display_name": "ファン",
            "birthdate": "1995-05-05",
        }
        body.update(content)  # type: ignore[call-overload]
        response = await auth.client.post("/api/v1/auth/signup", json=body)
    assert 400 <= response.status_code < 500, (case, response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"]
    assert await auth.count_users() == before
    assert await auth.outbox_rows(AccountRegistered.topic) == []


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/auth/login", {"email": "a@example.jp"}),
        ("/api/v1/auth/login", {"email": ["a"], "password": "x" * 12}),
        ("/api/v1/auth/login", {"email": "a@example.jp", "password": "x" * 129}),
        ("/api/v1/auth/refresh", {"refresh_token": 12345}),
        ("/api/v1/auth/refresh", {"refresh_token": "has spaces and ! marks"}),
        ("/api/v1/auth/verify-email", {"token": "x" * 500}),
        ("/api/v1/auth/password-reset/request", {"email": 5}),
        ("/api/v1/auth/password-reset/confirm", {"token": "t" * 43, "new_password": "short"}),
    ],
)
async def test_bad_input_to_other_auth_endpoints_is_a_422_problem(
    auth: AuthHarness,
    path: str,
    body: dict,  # type: ignore[type-arg]
) -> None:
    assert_problem(await auth.client.post(path, json=body), 422, "validation_failed")


# -- account registered event --------------------------------------------------------------------


async def test_signup_publishes_account_registered_in_the_same_transaction(
    auth: AuthHarness,
) -> None:
    user = (await auth.signup()).json()
    rows = await auth.outbox_rows(AccountRegistered.topic)
    assert len(rows) == 1
    payload = rows[0].payload
    assert payload["user_id"] == user["id"]
    assert payload["roles"] == ["fan"]
    assert "birthdate" not in payload and "email" not in payload  # COMPLIANCE R5
    AccountRegistered.model_validate(payload)
    await auth.platform.drain()
    [row] = await auth.outbox_rows(AccountRegistered.topic)
    assert row.published_at is not None

    # A refused duplicate writes no event.
    assert (await auth.signup(email=user["email"])).status_code == 409
    assert len(await auth.outbox_rows(AccountRegistered.topic)) == 1


# -- email verification and password reset -----------------------------------------------------


async def test_email_is_verified_with_the_token_from_the_dev_mailbox(auth: AuthHarness) -> None:
    account = await auth.account()
    mail = await auth.wait_for_mail(account.email, "Verify your email")
    token = auth.token_in(mail)
    assert (
        await auth.client.post("/api/v1/auth/verify-email", json={"token": token})
    ).status_code == 204
    me = (await auth.client.get("/api/v1/me", headers=account.headers)).json()
    assert me["email_verified"] is True
    # Single use.
    assert_problem(
        await auth.client.post("/api/v1/auth/verify-email", json={"token": token}),
        400,
        "token_invalid",
    )


async def test_a_verification_link_expires(auth: AuthHarness) -> None:
    account = await auth.account()
    token = auth.token_in(await auth.wait_for_mail(account.email, "Verify your email"))
    auth.freeze(datetime.now(UTC) + timedelta(hours=49))
    assert_problem(
        await auth.client.post("/api/v1/auth/verify-email", json={"token": token}),
        400,
        "token_invalid",
    )


async def test_a_new_verification_mail_can_be_requested(auth: AuthHarness) -> None:
    account = await auth.account()
    response = await auth.client.post("/api/v1/auth/verify-email/request", headers=account.headers)
    assert response.status_code == 202
    deadline = asyncio.get_running_loop().time() + 10
    while len(await auth.mails(account.email)) < 2:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)


async def test_password_reset_through_the_dev_mailbox_ends_every_session(
    auth: AuthHarness,
) -> None:
    account = await auth.account()
    response = await auth.client.post(
        "/api/v1/auth/password-reset/request", json={"email": account.email.upper()}
    )
    assert response.status_code == 202
    token = auth.token_in(await auth.wait_for_mail(account.email, "Reset your password"))

    new_password = "a brand new passphrase"
    confirmed = await auth.client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": new_password}
    )
    assert confirmed.status_code == 204, confirmed.text
    assert_problem(await auth.client.get("/api/v1/me", headers=account.headers), 401)
    assert_problem(
        await auth.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": account.refresh_token}
        ),
        401,
    )
    assert_problem(await auth.login(account.email, account.password), 401)
    assert (await auth.login(account.email, new_password)).status_code == 200
    assert_problem(
        await auth.client.post(
            "/api/v1/auth/password-reset/confirm",
            json={"token": token, "new_password": "yet another passphrase"},
        ),
        400,
        "token_invalid",
    )


async def test_password_reset_request_does_not_reveal_whether_an_account_exists(
    auth: AuthHarness,
) -> None:
    nobody = unique_email("nobody")
    response = await auth.client.post("/api/v1/auth/password-reset/request", json={"email": nobody})
    assert response.status_code == 202
    assert response.content == b""
    # A request for a real account, made after, is mailed: once it has left, so would have any
    # mail for the unknown address (mails leave in order).
    account = await auth.account()
    await auth.client.post("/api/v1/auth/password-reset/request", json={"email": account.email})
    await auth.wait_for_mail(account.email, "Reset your password")
    assert await auth.mails(nobody) == []


async def test_dev_mailbox_page_lists_the_mails(auth: AuthHarness) -> None:
    account = await auth.account()
    await auth.wait_for_mail(account.email, "Verify your email")
    page = await auth.local.get("/dev/mailbox")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert account.email in page.text


# -- self-set limits (COMPLIANCE A3) and cooling-off ------------------------------------------


async def test_lowering_a_cap_is_immediate_and_raising_waits_seven_days(auth: AuthHarness) -> None:
    account = await auth.account()
    clock = auth.freeze(datetime(2026, 3, 1, 3, 0, tzinfo=UTC))

    lowered = await auth.client.put(
        "/api/v1/me/limits",
        headers=account.headers,
        json={"monthly_purchase_cap_jpy": 10_000, "monthly_draw_cap_medals": 3_000},
    )
    assert lowered.status_code == 200, lowered.text
    assert lowered.json()["monthly_purchase_cap_jpy"] == 10_000
    assert lowered.json()["pending"] == []

    raised = await auth.client.put(
        "/api/v1/me/limits",
        headers=account.headers,
        json={"monthly_purchase_cap_jpy": 30_000, "monthly_draw_cap_medals": None},
    )
    body = raised.json()
    assert body["monthly_purchase_cap_jpy"] == 10_000
    assert body["monthly_draw_cap_medals"] == 3_000
    effective = clock.now + timedelta(days=7)
    assert {(p["name"], p["value"]) for p in body["pending"]} == {
        ("monthly_purchase_cap_jpy", 30_000),
        ("monthly_draw_cap_medals", None),
    }
    assert all(datetime.fromisoformat(p["effective_at"]) == effective for p in body["pending"])

    profile = await auth.platform.clients.auth.spending_profile(account.id)
    assert profile.monthly_purchase_cap_jpy == 10_000

    clock.now = effective - timedelta(seconds=1)
    still = (await auth.client.get("/api/v1/me/limits", headers=account.headers)).json()
    assert still["monthly_purchase_cap_jpy"] == 10_000

    clock.now = effective
    now_in_force = (await auth.client.get("/api/v1/me", headers=account.headers)).json()["limits"]
    assert now_in_force["monthly_purchase_cap_jpy"] == 30_000
    assert now_in_force["monthly_draw_cap_medals"] is None
    assert now_in_force["pending"] == []
    profile = await auth.platform.clients.auth.spending_profile(account.id)
    assert profile.monthly_purchase_cap_jpy == 30_000
    assert profile.monthly_draw_cap_medals is None


async def test_lowering_during_a_waiting_raise_cancels_the_raise(auth: AuthHarness) -> None:
    account = await auth.account()
    clock = auth.freeze(datetime(2026, 3, 1, tzinfo=UTC))
    limits = {"monthly_purchase_cap_jpy": 5_000, "monthly_draw_cap_medals": None}
    await auth.client.put("/api/v1/me/limits", headers=account.headers, json=limits)
    limits["monthly_purchase_cap_jpy"] = 50_000
    await auth.client.put("/api/v1/me/limits", headers=account.headers, json=limits)
    limits["monthly_purchase_cap_jpy"] = 1_000
    body = (await auth.client.put("/api/v1/me/limits", headers=account.headers, json=limits)).json()
    assert body["monthly_purchase_cap_jpy"] == 1_000 and body["pending"] == []
    clock.now += timedelta(days=30)
    body = (await auth.client.get("/api/v1/me/limits", headers=account.headers)).json()
    assert body["monthly_purchase_cap_jpy"] == 1_000


@pytest.mark.parametrize(
    "body",
    [
        {"monthly_purchase_cap_jpy": -1, "monthly_draw_cap_medals": None},
        {"monthly_purchase_cap_jpy": 1.5, "monthly_draw_cap_medals": None},
        {"monthly_purchase_cap_jpy": "1000", "monthly_draw_cap_medals": None},
        {"monthly_purchase_cap_jpy": True, "monthly_draw_cap_medals": None},
        {"monthly_purchase_cap_jpy": 10**12, "monthly_draw_cap_medals": None},
        {"monthly_purchase_cap_jpy": 1000},
    ],
)
async def test_bad_limits_are_refused_and_change_nothing(auth: AuthHarness, body: dict) -> None:  # type: ignore[type-arg]
    account = await auth.account()
    assert_problem(
        await auth.client.put("/api/v1/me/limits", headers=account.headers, json=body), 422
    )
    limits = (await auth.client.get("/api/v1/me/limits", headers=account.headers)).json()
    assert limits["monthly_purchase_cap_jpy"] is None


async def test_cooling_off_pauses_for_the_chosen_days_and_cannot_be_shortened(
    auth: AuthHarness,
) -> None:
    account = await auth.account()
    clock = auth.freeze(datetime(2026, 3, 1, tzinfo=UTC))
    response = await auth.client.post(
        "/api/v1/me/cooling-off", headers=account.headers, json={"days": 30}
    )
    assert response.status_code == 200, response.text
    until = clock.now + timedelta(days=30)
    assert datetime.fromisoformat(response.json()["cooling_off_until"]) == until
    shorter = await auth.client.post(
        "/api/v1/me/cooling-off", headers=account.headers, json={"days": 7}
    )
    assert datetime.fromisoformat(shorter.json()["cooling_off_until"]) == until
    profile = await auth.platform.clients.auth.spending_profile(account.id)
    assert profile.cooling_off_until == until
    assert_problem(
        await auth.client.post("/api/v1/me/cooling-off", headers=account.headers, json={"days": 3}),
        422,
    )
    clock.now = until
    profile = await auth.platform.clients.auth.spending_profile(account.id)
    assert profile.cooling_off_until is None


# -- age bracket and the support-only birth-date change (COMPLIANCE A1, A2, R5) ----------------


async def test_age_bracket_is_computed_on_the_tokyo_calendar(auth: AuthHarness) -> None:
    # 2026-06-01 00:30 in Tokyo is still 2026-05-31 in UTC.
    auth.freeze(datetime(2026, 5, 31, 15, 30, tzinfo=UTC))
    sixteen_today = await auth.account(birthdate="2010-06-01")
    me = (await auth.client.get("/api/v1/me", headers=sixteen_today.headers)).json()
    assert me["age_bracket"] == "16_17"
    fifteen = await auth.account(birthdate="2010-06-02")
    me = (await auth.client.get("/api/v1/me", headers=fifteen.headers)).json()
    assert me["age_bracket"] == "under_16"


async def test_support_changes_a_birthdate_with_a_recorded_reason(auth: AuthHarness) -> None:
    auth.freeze(datetime(2026, 5, 1, tzinfo=UTC))
    fan = await auth.account(birthdate="2012-01-01")
    support = await auth.account(roles=["support"])
    response = await auth.client.put(
        f"/api/v1/admin/users/{fan.id}/birthdate",
        headers=support.headers,
        json={"birthdate": "1990-01-01", "reason": "本人確認書類により訂正 (ticket #123)"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["age_bracket"] == "adult"
    assert response.json()["changed_by"] == support.id
    me = (await auth.client.get("/api/v1/me", headers=fan.headers)).json()
    assert me["age_bracket"] == "adult"
    async with auth.service.db.transaction() as session:
        assert await auth.service.birthdate_changes(session, user_id=fan.id) == 1
    profile = await auth.platform.clients.auth.spending_profile(fan.id)
    assert profile.birthdate.isoformat() == "1990-01-01"


async def test_a_fan_cannot_change_their_own_birthdate(auth: AuthHarness) -> None:
    fan = await auth.account()
    assert_problem(
        await auth.client.put(
            f"/api/v1/admin/users/{fan.id}/birthdate",
            headers=fan.headers,
            json={"birthdate": "1980-01-01", "reason": "I want to be older"},
        ),
        403,
        "forbidden",
    )


async def test_admin_sets_roles_and_new_tokens_carry_them(auth: AuthHarness) -> None:
    admin = await auth.account(roles=["admin"])
    fan = await auth.account()
    response = await auth.client.put(
        f"/api/v1/admin/users/{fan.id}/roles",
        headers=admin.headers,
        json={"roles": ["fan", "vtuber"]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["roles"] == ["fan", "vtuber"]
    refreshed = (
        await auth.client.post("/api/v1/auth/refresh", json={"refresh_token": fan.refresh_token})
    ).json()
    claims = jwt.decode(refreshed["access_token"], options={"verify_signature": False})
    assert claims["roles"] == ["fan", "vtuber"]
    assert_problem(
        await auth.client.put(
            f"/api/v1/admin/users/{fan.id}/roles", headers=admin.headers, json={"roles": ["owner"]}
        ),
        422,
    )
    assert_problem(
        await auth.client.put(
            f"/api/v1/admin/users/{admin.id}/roles", headers=admin.headers, json={"roles": ["fan"]}
        ),
        409,
        "own_admin_role",
    )
    assert_problem(
        await auth.client.get("/api/v1/admin/users/not-a-uuid", headers=admin.headers), 404
    )


# -- authorization of every endpoint -----------------------------------------------------------

SIGNED_IN = [
    ("GET", "/api/v1/me", None),
    ("GET", "/api/v1/me/limits", None),
    ("PUT", "/api/v1/me/limits", {"monthly_purchase_cap_jpy": 1, "monthly_draw_cap_medals": 1}),
    ("POST", "/api/v1/me/cooling-off", {"days": 7}),
    ("POST", "/api/v1/auth/verify-email/request", None),
    ("POST", "/api/v1/auth/logout", None),
]
STAFF = [
    ("GET", "/api/v1/admin/users/{id}", None, ("support", "admin")),
    (
        "PUT",
        "/api/v1/admin/users/{id}/birthdate",
        {"birthdate": "1990-01-01", "reason": "typo at signup"},
        ("support", "admin"),
    ),
    ("PUT", "/api/v1/admin/users/{id}/roles", {"roles": ["fan"]}, ("admin",)),
]


@pytest.mark.parametrize(("method", "path", "body"), SIGNED_IN + [s[:3] for s in STAFF])
async def test_every_protected_endpoint_needs_a_token(
    auth: AuthHarness, method: str, path: str, body: object
) -> None:
    target = path.replace("{id}", "00000000-0000-4000-8000-000000000000")
    response = await auth.client.request(method, target, json=body)
    assert_problem(response, 401, "unauthenticated")
    assert "bearer" in response.headers.get("www-authenticate", "").lower()


@pytest.mark.parametrize(("method", "path", "body", "allowed"), STAFF)
async def test_staff_endpoints_refuse_other_roles(
    auth: AuthHarness, method: str, path: str, body: object, allowed: tuple[str, ...]
) -> None:
    target_user = await auth.account()
    target = path.replace("{id}", target_user.id)
    for role in ("fan", "vtuber", "compliance", "support", "admin"):
        caller = await auth.account(roles=[role])
        response = await auth.client.request(method, target, json=body, headers=caller.headers)
        if role in allowed:
            assert response.status_code == 200, (role, response.text)
        else:
            assert_problem(response, 403, "forbidden")


async def test_public_endpoints_need_no_token(auth: AuthHarness) -> None:
    assert (await auth.client.get("/.well-known/jwks.json")).status_code == 200
    assert (await auth.signup()).status_code == 201
    assert (
        await auth.client.post("/api/v1/auth/password-reset/request", json={"email": "a@b.jp"})
    ).status_code == 202


async def test_internal_spending_profile_is_not_reachable_through_the_gateway(
    auth: AuthHarness,
) -> None:
    account = await auth.account()
    response = await auth.client.get(
        f"/internal/auth/users/{account.id}/spending-profile", headers=account.headers
    )
    assert response.status_code in (403, 404)


async def test_removing_a_role_ends_the_users_sessions_at_once(auth: AuthHarness) -> None:
    admin = await auth.account(roles=["admin"])
    support = await auth.account(roles=["fan", "support"])
    response = await auth.client.put(
        f"/api/v1/admin/users/{support.id}/roles", headers=admin.headers, json={"roles": ["fan"]}
    )
    assert response.status_code == 200, response.text
    target = f"/api/v1/admin/users/{admin.id}"
    assert_problem(await auth.client.get(target, headers=support.headers), 401)
    again = (await auth.login(support.email)).json()
    headers = {"Authorization": f"Bearer {again['access_token']}"}
    assert_problem(await auth.client.get(target, headers=headers), 403, "forbidden")
