"""Who may call what: every route of the platform, asked by every kind of caller.

Routes are enumerated from the app itself, so a new route lands in this matrix without anyone
remembering to add it: unless it is listed below as public (with the reason), it must refuse an
anonymous caller with a 401 problem; ``/api/v1/admin/*`` (and the operator routes listed below)
must refuse a fan with 403 and admit exactly the roles listed; ``/internal/*`` must never be
reachable through the gateway, whoever asks.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import BaseRoute, Mount

from koepon.app import Platform, create_app
from payment.fixtures.shop import PASSWORD, Shop, shop_fixture  # noqa: F401 - the shop fixture

Route = tuple[str, str]  # (method, path template)

# Every route anyone may call without a token, and why. Adding a public route means adding it
# here, on purpose.
PUBLIC: dict[Route, str] = {
    ("GET", "/healthz"): "liveness probe of the orchestrator",
    ("GET", "/readyz"): "readiness probe of the orchestrator",
    ("GET", "/.well-known/jwks.json"): "public keys that verify access tokens",
    ("GET", "/api/v1/openapi.json"): "the published API contract",
    ("GET", "/api/v1/docs"): "the API reference page",
    ("GET", "/docs/oauth2-redirect"): "part of the API reference page",
    ("POST", "/api/v1/auth/signup"): "creating an account",
    ("POST", "/api/v1/auth/login"): "the credentials are in the body",
    ("POST", "/api/v1/auth/refresh"): "the refresh token in the body is the credential",
    ("POST", "/api/v1/auth/verify-email"): "the mailed token in the body is the credential",
    ("POST", "/api/v1/auth/password-reset/request"): "a signed-out fan asks for a reset mail",
    (
        "POST",
        "/api/v1/auth/password-reset/confirm",
    ): "the mailed token in the body is the credential",
    ("GET", "/api/v1/medal-packs"): "the price list is shown before signing in (A4 display)",
    ("POST", "/api/v1/webhooks/{provider}"): "payment providers sign their webhooks instead",
    # The sandbox provider never runs in production (payment/providers/unit.py refuses it).
    ("GET", "/sandbox/checkouts/{checkout_id}"): "the sandbox provider's payment page",
    ("POST", "/sandbox/checkouts/{checkout_id}/complete"): "the sandbox provider paying",
    ("POST", "/sandbox/checkouts/{checkout_id}/dispute"): "the sandbox provider disputing",
    ("GET", "/api/v1/gachas"): "the public catalogue of live and upcoming gachas",
    ("GET", "/api/v1/gachas/{gacha_id}"): "the odds disclosure shown before purchase (G6, G7, P2)",
    ("GET", "/api/v1/gachas/{gacha_id}/odds"): "the public change log of the odds (G4)",
    ("GET", "/api/v1/gachas/{gacha_id}/odds/{version}"): "every published odds version (G4)",
    ("GET", "/api/v1/gachas/{gacha_id}/fairness"): "the draw algorithm, public (G9)",
    ("GET", "/api/v1/gachas/{gacha_id}/audit"): "declared vs observed rates, public (G9)",
    ("GET", "/api/v1/draw-log/checkpoint"): "the public draw log's latest signed tree head",
    ("GET", "/api/v1/draw-log/checkpoints"): "an earlier checkpoint, to check the log only grew",
    ("GET", "/api/v1/draw-log/key"): "the public key that verifies the log's checkpoints",
    ("GET", "/api/v1/draw-log/consistency"): "proof that the public log only grew",
    ("GET", "/api/v1/draw-log/leaves"): "the log's entries, so monitors can recompute the tree",
    ("GET", "/api/v1/downloads/{token}"): (
        "the signed, short-lived URL is the credential (a link a browser follows), bound to its "
        "owner's live entitlement or export"
    ),
    ("GET", "/api/v1/previews/{content_id}"): (
        "blurred previews of ready contents, shown before a draw (originals are never public)"
    ),
    ("GET", "/api/v1/vtubers/{vtuber_id}"): "an approved VTuber's public profile page",
    ("GET", "/socket.io/{path}"): (
        "live pushes: a public gacha's stock to anyone; a fan's own results and an overlay's "
        "pulls only with a ticket the pages issue to the signed-in fan or the overlay's owner"
    ),
    ("GET", "/api/v1/vtubers"): "the public directory of approved VTubers",
    ("GET", "/api/v1/overlays/{token}"): (
        "the stream overlay's secret URL is the credential (OBS opens it without an account)"
    ),
}

# Public routes whose own credential is in the request: without it they refuse (4xx problem).
OWN_CREDENTIAL: set[Route] = {
    ("POST", "/api/v1/webhooks/{provider}"),  # no provider signature
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/verify-email"),
    ("POST", "/api/v1/auth/password-reset/confirm"),
    ("GET", "/api/v1/downloads/{token}"),  # no genuine signed link
    ("GET", "/api/v1/overlays/{token}"),  # no live overlay token
}

# Public routes that refuse a request without their own credential with this status (rather
# than any 4xx): a download link that is not genuine is forbidden.
OWN_CREDENTIAL_REFUSAL: dict[Route, int] = {
    ("GET", "/api/v1/downloads/{token}"): 403,
}

# The roles each operator route admits; /api/v1/admin/* must all be here.
OPERATOR: dict[Route, frozenset[str]] = {
    ("GET", "/api/v1/admin/users/{user_id}"): frozenset({"admin", "support"}),
    ("PUT", "/api/v1/admin/users/{user_id}/birthdate"): frozenset({"admin", "support"}),
    ("PUT", "/api/v1/admin/users/{user_id}/roles"): frozenset({"admin"}),
    ("POST", "/api/v1/admin/users/{user_id}/suspend"): frozenset({"admin", "support"}),
    ("POST", "/api/v1/admin/users/{user_id}/reinstate"): frozenset({"admin", "support"}),
    ("GET", "/api/v1/admin/wallets/{user_id}"): frozenset({"admin", "support"}),
    ("POST", "/api/v1/admin/wallets/{user_id}/grants"): frozenset({"admin", "support"}),
    ("POST", "/api/v1/admin/wallets/{user_id}/claw-backs"): frozenset({"admin", "support"}),
    ("GET", "/api/v1/admin/ledger/audit"): frozenset({"admin", "compliance"}),
    ("GET", "/api/v1/admin/reports/prepaid-balance"): frozenset({"admin", "compliance"}),
    ("GET", "/api/v1/admin/medal-packs"): frozenset({"admin"}),
    ("POST", "/api/v1/admin/medal-packs"): frozenset({"admin"}),
    ("PATCH", "/api/v1/admin/medal-packs/{pack_id}"): frozenset({"admin"}),
    ("POST", "/api/v1/admin/medal-packs/{pack_id}/deactivate"): frozenset({"admin"}),
    ("GET", "/api/v1/admin/payments"): frozenset({"admin", "support"}),
    ("GET", "/api/v1/admin/payments/{checkout_id}"): frozenset({"admin", "support"}),
    ("POST", "/api/v1/admin/payments/{checkout_id}/refund"): frozenset({"admin"}),
    ("GET", "/api/v1/admin/gachas"): frozenset({"admin", "compliance"}),
    ("POST", "/api/v1/admin/gachas/{gacha_id}/approve"): frozenset({"admin", "compliance"}),
    ("POST", "/api/v1/admin/gachas/{gacha_id}/reject"): frozenset({"admin", "compliance"}),
    ("POST", "/api/v1/admin/gachas/{gacha_id}/versions"): frozenset({"admin", "compliance"}),
    ("POST", "/api/v1/admin/gachas/{gacha_id}/end"): frozenset({"admin", "compliance"}),
    ("GET", "/api/v1/admin/gacha-proposals"): frozenset({"admin", "compliance"}),
    (
        "POST",
        "/api/v1/admin/gacha-proposals/{proposal_id}/approve",
    ): frozenset({"admin", "compliance"}),
    (
        "POST",
        "/api/v1/admin/gacha-proposals/{proposal_id}/reject",
    ): frozenset({"admin", "compliance"}),
    # Takes a fan's items away (rewards revokes them): admin only.
    ("POST", "/api/v1/admin/draws/{draw_id}/reverse"): frozenset({"admin"}),
    # VTubers: applications and decisions (tests/vtuber/test_authorization_matrix.py asks
    # every VTuber route as every team role too).
    ("GET", "/api/v1/admin/vtubers"): frozenset({"admin", "compliance", "support"}),
    ("POST", "/api/v1/admin/vtubers/{vtuber_id}/approve"): frozenset({"admin", "compliance"}),
    ("POST", "/api/v1/admin/vtubers/{vtuber_id}/reject"): frozenset({"admin", "compliance"}),
    ("POST", "/api/v1/admin/vtubers/{vtuber_id}/suspend"): frozenset({"admin", "compliance"}),
    ("PUT", "/api/v1/admin/vtubers/{vtuber_id}/revenue-share"): frozenset({"admin"}),
    # Statements and payouts: money leaves the platform on an admin's word only.
    ("GET", "/api/v1/admin/statements"): frozenset({"admin", "compliance"}),
    ("POST", "/api/v1/admin/statements/close"): frozenset({"admin"}),
    ("GET", "/api/v1/admin/statements/reconciliation"): frozenset({"admin", "compliance"}),
    (
        "GET",
        "/api/v1/admin/statements/medal-reconciliation",
    ): frozenset({"admin", "compliance"}),
    ("POST", "/api/v1/admin/payouts/batches"): frozenset({"admin"}),
    ("GET", "/api/v1/admin/payouts/batches"): frozenset({"admin", "compliance"}),
    ("GET", "/api/v1/admin/payouts/batches/{batch_id}"): frozenset({"admin", "compliance"}),
    ("GET", "/api/v1/admin/payouts/batches/{batch_id}/zengin"): frozenset({"admin"}),
    ("POST", "/api/v1/admin/payouts/batches/{batch_id}/paid"): frozenset({"admin"}),
    # Outside /api/v1/admin:
    ("GET", "/metrics"): frozenset({"admin"}),
    ("GET", "/dev/mailbox"): frozenset({"admin"}),
    ("GET", "/dev/mailbox.json"): frozenset({"admin"}),
}

# Routes of one VTuber's team, decided by the VTuber service's policy (team roles there, and the
# staff roles listed here on any VTuber). Asked about an unknown VTuber, gacha or member, anyone
# outside its team is refused: 403, or 404 where the thing itself stays hidden. Every cell with
# a real team (owner, manager, editor, analyst, another VTuber's owner…) is in
# tests/vtuber/test_authorization_matrix.py.
TEAM: dict[Route, frozenset[str]] = {
    ("GET", "/api/v1/vtubers/{vtuber_id}/private"): frozenset({"admin", "compliance"}),
    ("PATCH", "/api/v1/vtubers/{vtuber_id}"): frozenset({"admin"}),
    ("GET", "/api/v1/vtubers/{vtuber_id}/overlay"): frozenset({"admin"}),
    ("POST", "/api/v1/vtubers/{vtuber_id}/overlay/rotate"): frozenset({"admin"}),
    ("POST", "/api/v1/vtubers/{vtuber_id}/members"): frozenset({"admin"}),
    ("GET", "/api/v1/vtubers/{vtuber_id}/members"): frozenset({"admin", "compliance", "support"}),
    ("PATCH", "/api/v1/vtubers/{vtuber_id}/members/{user_id}"): frozenset({"admin"}),
    ("DELETE", "/api/v1/vtubers/{vtuber_id}/members/{user_id}"): frozenset({"admin"}),
    ("DELETE", "/api/v1/vtubers/{vtuber_id}/invitations/{invitation_id}"): frozenset({"admin"}),
    ("GET", "/api/v1/vtubers/{vtuber_id}/changes"): frozenset({"admin", "compliance"}),
    ("POST", "/api/v1/vtubers/{vtuber_id}/gachas"): frozenset({"admin"}),
    ("GET", "/api/v1/vtubers/{vtuber_id}/gachas"): frozenset({"admin"}),
    ("PUT", "/api/v1/gachas/{gacha_id}"): frozenset({"admin"}),
    ("POST", "/api/v1/gachas/{gacha_id}/submit"): frozenset({"admin"}),
    ("POST", "/api/v1/gachas/{gacha_id}/proposals"): frozenset({"admin"}),
    ("GET", "/api/v1/gachas/{gacha_id}/proposals"): frozenset({"admin"}),
    ("PUT", "/api/v1/gachas/{gacha_id}/proposals/{proposal_id}"): frozenset({"admin"}),
    ("POST", "/api/v1/gachas/{gacha_id}/proposals/{proposal_id}/submit"): frozenset({"admin"}),
    ("POST", "/api/v1/vtubers/{vtuber_id}/contents"): frozenset({"admin"}),
    ("GET", "/api/v1/vtubers/{vtuber_id}/contents"): frozenset({"admin"}),
    ("POST", "/api/v1/vtubers/{vtuber_id}/contents/uploads"): frozenset({"admin"}),
    (
        "POST",
        "/api/v1/vtubers/{vtuber_id}/contents/uploads/{content_id}/complete",
    ): frozenset({"admin"}),
    ("POST", "/api/v1/vtubers/{vtuber_id}/contents/{content_id}/retire"): frozenset({"admin"}),
    ("GET", "/api/v1/vtubers/{vtuber_id}/sales"): frozenset({"admin", "compliance"}),
    ("GET", "/api/v1/vtubers/{vtuber_id}/sales.csv"): frozenset({"admin", "compliance"}),
    ("GET", "/api/v1/vtubers/{vtuber_id}/sales/chart.svg"): frozenset({"admin", "compliance"}),
    ("GET", "/api/v1/vtubers/{vtuber_id}/statements"): frozenset({"admin", "compliance"}),
    ("GET", "/api/v1/vtubers/{vtuber_id}/statements/{month}"): frozenset({"admin", "compliance"}),
}

# Routes for other processes only (the internal token), which no token of a person opens.
MACHINE_ONLY: dict[Route, str] = {
    ("GET", "/healthz/details"): "every dependency's state, for the operators' monitoring",
}

# Refused for where the request comes from rather than for a missing token: the dev mailbox
# (never in production) answers this machine or a signed-in admin, anyone else 403.
ANONYMOUS_REFUSAL: dict[Route, int] = {
    ("GET", "/dev/mailbox"): 403,
    ("GET", "/dev/mailbox.json"): 403,
}

STAFF_ROLES = ("admin", "support", "compliance")
SESSION_ENDING: Route = ("POST", "/api/v1/auth/logout")


def _flatten(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
    for route in routes:
        # FastAPI keeps an included router as one entry that yields its own routes.
        nested = getattr(route, "effective_route_contexts", None)
        if nested is not None:
            yield from nested()
        else:
            yield route


def platform_routes(app: FastAPI) -> set[Route]:
    """Every (method, path) the app answers, HEAD aside (it follows GET)."""
    found: set[Route] = set()
    for route in _flatten(list(app.routes)):
        if isinstance(route, Mount):
            found.add(("GET", route.path + "/{path}"))
            continue
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":
                found.add((method, str(getattr(route, "path", ""))))
    return found


# Paths of the services and the edge; everything else is a page of the web app, whose own
# matrix (tests/web/test_page_access.py) asks every page as every kind of visitor.
NOT_PAGES: tuple[str, ...] = (
    "/api/",
    "/internal/",
    "/.well-known/",
    "/sandbox/",
    "/dev/",
    "/docs/",
    "/socket.io/",
    "/healthz",
    "/readyz",
    "/metrics",
)


def is_page(route: Route) -> bool:
    return not route[1].startswith(NOT_PAGES)


def is_internal(route: Route) -> bool:
    return route[1].startswith("/internal/")


def needs_operator(route: Route) -> bool:
    return route in OPERATOR or route[1].startswith("/api/v1/admin/")


def needs_sign_in(route: Route) -> bool:
    return (
        route not in PUBLIC
        and route not in MACHINE_ONLY
        and not is_internal(route)
        and not is_page(route)
    )


def concrete(path: str, **ids: str) -> str:
    """``path`` with every parameter filled: the given ids, else a fresh unknown one."""
    values = {
        "provider": "sandbox",
        "outcome": "success",
        "path": "koepon.css",
        "month": "2026-10",
        **ids,
    }
    out = path
    while "{" in out:
        start = out.index("{")
        end = out.index("}", start)
        name = out[start + 1 : end]
        out = out[:start] + values.get(name, str(uuid.uuid4())) + out[end + 1 :]
    return out


async def call(
    client: httpx.AsyncClient, route: Route, headers: dict[str, str] | None = None, **ids: str
) -> httpx.Response:
    method, path = route
    # A body that is valid JSON but says nothing: refusal for who you are must come first.
    body: dict[str, Any] | None = {} if method in ("POST", "PUT", "PATCH") else None
    return await client.request(method, concrete(path, **ids), json=body, headers=headers or {})


def assert_problem(response: httpx.Response, status: int, route: Route, who: str) -> None:
    assert response.status_code == status, (
        f"{who} on {route}: {response.status_code} {response.text[:300]}"
    )
    assert response.headers["content-type"].startswith("application/problem+json"), (
        f"{who} on {route}: {response.headers['content-type']}"
    )
    problem = response.json()
    assert problem["status"] == status and problem["code"], problem
    if status == 401:  # RFC 6750: the client is told how to authenticate
        assert response.headers.get("www-authenticate", "").startswith("Bearer"), (who, route)


def assert_admitted(response: httpx.Response, route: Route, who: str) -> None:
    """Past authorization: whatever the answer to the empty request is, it is not a refusal
    of the caller, and never a server error."""
    assert response.status_code not in (401, 403), (
        f"{who} refused on {route}: {response.status_code} {response.text[:300]}"
    )
    assert response.status_code < 500, f"{who} on {route}: {response.text[:300]}"


def assert_outside_team(response: httpx.Response, route: Route, who: str) -> None:
    """Refused as someone outside the team (before the body is even read): 403, or 404 where
    the team's thing stays hidden."""
    assert response.status_code in (403, 404), (
        f"{who} on {route}: {response.status_code} {response.text[:300]}"
    )
    assert_problem(response, response.status_code, route, who)


def internal_token(platform: Platform) -> dict[str, str]:
    secret = platform.settings.internal_token
    assert secret is not None
    return {"X-Koepon-Internal": secret.get_secret_value()}


@dataclass
class Caller:
    name: str
    headers: dict[str, str]


@pytest.fixture
async def callers(shop: Shop) -> dict[str, Caller]:
    made = {"fan": Caller("fan", (await shop.fan()).headers)}
    for role in STAFF_ROLES:
        made[role] = Caller(role, (await shop.fan(roles=[role])).headers)
    return made


def test_every_route_is_classified_and_every_classified_route_exists(platform: Platform) -> None:
    routes = platform_routes(create_app(platform, manage_lifecycle=False))
    paths = create_app(platform, manage_lifecycle=False).openapi()["paths"]
    documented = {(method.upper(), path) for path, ops in paths.items() for method in ops}
    assert documented <= routes, "the route walk missed documented operations"
    assert any(is_internal(route) for route in routes)
    assert set(PUBLIC) >= OWN_CREDENTIAL
    listed = set(PUBLIC) | set(OPERATOR) | set(TEAM) | set(MACHINE_ONLY)
    assert not listed - routes, f"listed but gone (update the matrix): {listed - routes}"
    unlisted_admin = {r for r in routes if r[1].startswith("/api/v1/admin/")} - set(OPERATOR)
    assert not unlisted_admin, f"operator routes without their roles: {unlisted_admin}"


def test_the_document_says_which_operations_take_a_token(platform: Platform) -> None:
    paths = create_app(platform, manage_lifecycle=False).openapi()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            route = (method.upper(), path)
            # /metrics is admitted by the gateway (an admin's token or the scraper's header).
            expected = needs_sign_in(route) and route != ("GET", "/metrics")
            assert bool(operation.get("security")) == expected, route


async def test_anonymous_callers_are_refused_with_401_everywhere_but_public_routes(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    routes = platform_routes(create_app(platform, manage_lifecycle=False))
    for route in sorted(routes):
        if needs_sign_in(route):
            refusal = ANONYMOUS_REFUSAL.get(route, 401)
            assert_problem(await call(client, route), refusal, route, "anonymous")
            forged = {"Authorization": "Bearer not-a-token"}
            assert_problem(await call(client, route, forged), 401, route, "forged token")
        elif route in PUBLIC:
            response = await call(client, route)
            if route in OWN_CREDENTIAL_REFUSAL:
                assert_problem(response, OWN_CREDENTIAL_REFUSAL[route], route, "anonymous")
                continue
            assert_admitted(response, route, "anonymous")
            if route in OWN_CREDENTIAL:
                assert 400 <= response.status_code < 500, (route, response.text[:300])
                assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_fan_is_refused_with_403_on_every_operator_route_and_admitted_elsewhere(
    client: httpx.AsyncClient, platform: Platform, callers: dict[str, Caller]
) -> None:
    routes = platform_routes(create_app(platform, manage_lifecycle=False))
    fan = callers["fan"]
    for route in sorted(routes):
        if not needs_sign_in(route) or route == SESSION_ENDING:
            continue
        response = await call(client, route, fan.headers)
        if needs_operator(route):
            assert_problem(response, 403, route, "fan")
        elif route in TEAM:
            assert_outside_team(response, route, "fan")
        else:
            assert_admitted(response, route, "fan")
    # Last, as it ends the fan's session.
    assert (await call(client, SESSION_ENDING, fan.headers)).status_code == 204


async def test_each_staff_role_is_admitted_exactly_where_listed(
    client: httpx.AsyncClient, callers: dict[str, Caller]
) -> None:
    for route, roles in sorted(OPERATOR.items()):
        for role in STAFF_ROLES:
            response = await call(client, route, callers[role].headers)
            if role in roles:
                assert_admitted(response, route, role)
            else:
                assert_problem(response, 403, route, role)


async def test_each_staff_role_is_admitted_to_team_routes_exactly_where_listed(
    client: httpx.AsyncClient, callers: dict[str, Caller]
) -> None:
    for route, roles in sorted(TEAM.items()):
        for role in STAFF_ROLES:
            response = await call(client, route, callers[role].headers)
            if role in roles:
                assert_admitted(response, route, role)
            else:
                assert_outside_team(response, route, role)


async def test_internal_routes_are_never_reachable_through_the_gateway(
    client: httpx.AsyncClient, platform: Platform, callers: dict[str, Caller]
) -> None:
    routes = platform_routes(create_app(platform, manage_lifecycle=False))
    internal = sorted(route for route in routes if is_internal(route))
    # Even the internal token does not open them from outside: the gateway has no such door.
    machine = internal_token(platform)
    for route in internal:
        for who, headers in [
            ("anonymous", {}),
            ("fan", callers["fan"].headers),
            ("admin", callers["admin"].headers),
            ("internal token", machine),
        ]:
            assert_problem(await call(client, route, headers), 404, route, who)


async def test_machine_only_routes_refuse_every_person(
    client: httpx.AsyncClient, platform: Platform, callers: dict[str, Caller]
) -> None:
    for route in MACHINE_ONLY:
        for who, headers in [("anonymous", {}), *((c.name, c.headers) for c in callers.values())]:
            assert_problem(await call(client, route, headers), 403, route, who)
        admitted = await call(client, route, internal_token(platform))
        assert admitted.status_code == 200, admitted.text


async def test_a_fan_cannot_see_another_fans_checkout_or_receipts(shop: Shop) -> None:
    owner, other = await shop.fan(), await shop.fan()
    bought = await shop.buy(owner, await shop.pack())
    checkout = f"/api/v1/checkouts/{bought['id']}"

    mine = await shop.client.get(checkout, headers=owner.headers)
    assert mine.status_code == 200, mine.text
    theirs = await shop.client.get(checkout, headers=other.headers)
    assert_problem(theirs, 404, ("GET", checkout), "another fan")

    own_receipts = await shop.client.get("/api/v1/receipts", headers=owner.headers)
    other_receipts = await shop.client.get("/api/v1/receipts", headers=other.headers)
    assert own_receipts.status_code == other_receipts.status_code == 200
    assert bought["id"] in own_receipts.text
    assert bought["id"] not in other_receipts.text
    assert other_receipts.json()["items"] == []


async def test_a_fan_cannot_end_another_fans_session_with_their_refresh_token(shop: Shop) -> None:
    victim, attacker = await shop.fan(), await shop.fan()
    login = await shop.client.post(
        "/api/v1/auth/login", json={"email": victim.email, "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    stolen = login.json()["refresh_token"]

    ended = await shop.client.post(
        "/api/v1/auth/logout", json={"refresh_token": stolen}, headers=attacker.headers
    )
    assert ended.status_code == 204  # the attacker's own session ends, nothing else

    refreshed = await shop.client.post("/api/v1/auth/refresh", json={"refresh_token": stolen})
    assert refreshed.status_code == 200, refreshed.text
    assert (await shop.client.get("/api/v1/me", headers=victim.headers)).status_code == 200
