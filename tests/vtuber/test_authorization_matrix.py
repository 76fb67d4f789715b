"""Every VTuber and operator endpoint, asked by every kind of caller, with one expected answer per
cell: allowed, or refused.

The callers: anonymous, a fan, the owner of another VTuber, the VTuber's owner and its manager,
editor and analyst (members who joined by invitation), and the staff roles admin, compliance and
support. The expected cells are written here by hand, from the issue and the policy's
documentation — not computed from the policy module — so a change in who may do what shows up
as a failing cell.

A cell is *allowed* when the answer is not a refusal of the caller: no 401, no 403, no 404 that
hides the VTuber or the gacha, no server error. Requests are built so that an allowed caller
changes nothing the other cells depend on (an empty body that is refused for what it says, an
unknown member or batch), because the team's side and the operators' side check who is asking
before they read the body.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from gacha import samples
from gacha.conftest import live_now
from koepon.app import Platform, create_app
from vtuber.teams_kit import Account, Studio, studio_fixture  # noqa: F401 - the studio fixture

TEAM = ("owner", "manager", "editor", "analyst")
OUTSIDERS = ("anonymous", "fan", "other_owner")
STAFF = ("admin", "compliance", "support")
CALLERS = (*OUTSIDERS, *TEAM, *STAFF)

# The 404 codes that hide a VTuber's things from someone outside its team (a refusal); any other
# 404 (an unknown member, batch, content or statement) answers someone who was let in.
HIDING = {"vtuber_not_found", "gacha_not_found"}

V = "/api/v1/vtubers/{vtuber}"
# (method, path, body, allowed callers)
CELLS: list[tuple[str, str, Any, frozenset[str]]] = [
    # --- public and personal -----------------------------------------------------------------
    ("GET", V, None, frozenset(CALLERS)),
    ("GET", "/api/v1/vtubers", None, frozenset(CALLERS)),
    ("POST", "/api/v1/vtubers", {}, frozenset(CALLERS) - {"anonymous"}),
    ("GET", "/api/v1/me/vtubers", None, frozenset(CALLERS) - {"anonymous"}),
    ("GET", "/api/v1/vtuber-invitations", None, frozenset(CALLERS) - {"anonymous"}),
    (
        "POST",
        "/api/v1/vtuber-invitations/{nobody}/accept",
        None,
        frozenset(CALLERS) - {"anonymous"},
    ),
    # --- the profile -------------------------------------------------------------------------
    ("GET", V + "/private", None, frozenset({"owner", "admin", "compliance"})),
    ("PATCH", V, {"bio": 7}, frozenset({"owner", "manager", "admin"})),
    # --- the overlay's secret URL (profile.edit) ---------------------------------------------
    ("GET", V + "/overlay", None, frozenset({"owner", "manager", "admin"})),
    ("POST", V + "/overlay/rotate", None, frozenset({"owner", "manager", "admin"})),
    # The token is the credential: an unknown one is answered the same to everyone.
    ("GET", "/api/v1/overlays/{nobody}", None, frozenset(CALLERS)),
    # --- the team (team.manage) --------------------------------------------------------------
    ("GET", V + "/members", None, frozenset({*TEAM, *STAFF})),
    ("POST", V + "/members", {}, frozenset({"owner", "manager", "admin"})),
    ("PATCH", V + "/members/{editor}", {}, frozenset({"owner", "manager", "admin"})),
    ("DELETE", V + "/members/{nobody}", None, frozenset({"owner", "manager", "admin"})),
    ("DELETE", V + "/invitations/{nobody}", None, frozenset({"owner", "manager", "admin"})),
    ("GET", V + "/changes", None, frozenset({"owner", "manager", "admin", "compliance"})),
    # --- contents (content.upload; the list also for gacha.edit) -----------------------------
    ("GET", V + "/contents", None, frozenset({"owner", "manager", "editor", "admin"})),
    ("POST", V + "/contents", "multipart", frozenset({"owner", "manager", "editor", "admin"})),
    ("POST", V + "/contents/uploads", {}, frozenset({"owner", "manager", "editor", "admin"})),
    (
        "POST",
        V + "/contents/uploads/{nobody}/complete",
        None,
        frozenset({"owner", "manager", "editor", "admin"}),
    ),
    (
        "POST",
        V + "/contents/{nobody}/retire",
        None,
        frozenset({"owner", "manager", "editor", "admin"}),
    ),
    # --- gachas (gacha.edit, gacha.submit) ---------------------------------------------------
    ("GET", V + "/gachas", None, frozenset({"owner", "manager", "editor", "admin"})),
    ("POST", V + "/gachas", {}, frozenset({"owner", "manager", "editor", "admin"})),
    ("PUT", "/api/v1/gachas/{gacha}", {}, frozenset({"owner", "manager", "editor", "admin"})),
    ("POST", "/api/v1/gachas/{gacha}/submit", None, frozenset({"owner", "manager", "admin"})),
    # --- odds proposals (gacha.edit; submitting gacha.submit) -------------------------------
    (
        "POST",
        "/api/v1/gachas/{gacha}/proposals",
        {},
        frozenset({"owner", "manager", "editor", "admin"}),
    ),
    (
        "GET",
        "/api/v1/gachas/{gacha}/proposals",
        None,
        frozenset({"owner", "manager", "editor", "admin"}),
    ),
    (
        "PUT",
        "/api/v1/gachas/{gacha}/proposals/{nobody}",
        {},
        frozenset({"owner", "manager", "editor", "admin"}),
    ),
    (
        "POST",
        "/api/v1/gachas/{gacha}/proposals/{nobody}/submit",
        None,
        frozenset({"owner", "manager", "admin"}),
    ),
    # --- sales (sales.read) and statements (payout.read) -------------------------------------
    (
        "GET",
        V + "/sales",
        None,
        frozenset({"owner", "manager", "analyst", "admin", "compliance"}),
    ),
    (
        "GET",
        V + "/sales.csv",
        None,
        frozenset({"owner", "manager", "analyst", "admin", "compliance"}),
    ),
    (
        "GET",
        V + "/sales/chart.svg",
        None,
        frozenset({"owner", "manager", "analyst", "admin", "compliance"}),
    ),
    ("GET", V + "/statements", None, frozenset({"owner", "admin", "compliance"})),
    ("GET", V + "/statements/2026-10", None, frozenset({"owner", "admin", "compliance"})),
    # --- operators ---------------------------------------------------------------------------
    ("GET", "/api/v1/admin/vtubers", None, frozenset(STAFF)),
    ("POST", "/api/v1/admin/vtubers/{applicant}/approve", {}, frozenset({"admin", "compliance"})),
    ("POST", "/api/v1/admin/vtubers/{vtuber}/reject", {}, frozenset({"admin", "compliance"})),
    ("POST", "/api/v1/admin/vtubers/{vtuber}/suspend", {}, frozenset({"admin", "compliance"})),
    ("PUT", "/api/v1/admin/vtubers/{vtuber}/revenue-share", {}, frozenset({"admin"})),
    ("GET", "/api/v1/admin/statements?month=2026-10", None, frozenset({"admin", "compliance"})),
    ("POST", "/api/v1/admin/statements/close", {}, frozenset({"admin"})),
    (
        "GET",
        "/api/v1/admin/statements/reconciliation?month=2026-10",
        None,
        frozenset({"admin", "compliance"}),
    ),
    (
        "GET",
        "/api/v1/admin/statements/medal-reconciliation?month=2026-10",
        None,
        frozenset({"admin", "compliance"}),
    ),
    ("POST", "/api/v1/admin/payouts/batches", {}, frozenset({"admin"})),
    ("GET", "/api/v1/admin/payouts/batches", None, frozenset({"admin", "compliance"})),
    (
        "GET",
        "/api/v1/admin/payouts/batches/{nobody}",
        None,
        frozenset({"admin", "compliance"}),
    ),
    ("GET", "/api/v1/admin/payouts/batches/{nobody}/zengin", None, frozenset({"admin"})),
    ("POST", "/api/v1/admin/payouts/batches/{nobody}/paid", None, frozenset({"admin"})),
    ("POST", "/api/v1/admin/gachas/{gacha}/approve", None, frozenset({"admin", "compliance"})),
    ("GET", "/api/v1/admin/gacha-proposals", None, frozenset({"admin", "compliance"})),
    (
        "POST",
        "/api/v1/admin/gacha-proposals/{nobody}/approve",
        None,
        frozenset({"admin", "compliance"}),
    ),
    (
        "POST",
        "/api/v1/admin/gacha-proposals/{nobody}/reject",
        {},
        frozenset({"admin", "compliance"}),
    ),
]


@pytest.fixture
async def world(studio: Studio) -> dict[str, Any]:
    """One approved VTuber with a full team, another VTuber's owner, staff, a fan, a pending
    application and a draft gacha of the VTuber."""
    owner, vtuber_id = await studio.vtuber()
    members = {role: await studio.member(vtuber_id, owner, role) for role in TEAM[1:]}
    other_owner, _ = await studio.vtuber()
    applicant = await studio.account()
    applied = await studio.apply(applicant)
    assert applied.status_code == 201, applied.text
    draft = await studio.client.post(
        f"/api/v1/vtubers/{vtuber_id}/gachas",
        json={"title": "下書き", "config": live_now(samples.weighted_raw())},
        headers=owner.headers,
    )
    assert draft.status_code == 201, draft.text
    callers: dict[str, Account | None] = {
        "anonymous": None,
        "fan": await studio.account(),
        "other_owner": other_owner,
        "owner": owner,
        **members,
        **{role: await studio.staff(role) for role in STAFF},
    }
    return {
        "callers": callers,
        "ids": {
            "vtuber": vtuber_id,
            "editor": members["editor"].id,
            "applicant": applied.json()["id"],
            "gacha": draft.json()["id"],
        },
    }


def fill(path: str, ids: dict[str, str]) -> str:
    return path.format(**ids, nobody=str(uuid.uuid4()))


async def ask(
    client: httpx.AsyncClient, method: str, path: str, body: Any, who: Account | None
) -> httpx.Response:
    headers = {} if who is None else who.ik()
    if body == "multipart":
        return await client.request(method, path, files={}, data={}, headers=headers)
    return await client.request(method, path, json=body, headers=headers)


def verdict(response: httpx.Response) -> str:
    if response.status_code >= 500:
        return f"error {response.status_code}"
    if response.status_code in (401, 403):
        return "refused"
    if response.status_code == 404 and response.json().get("code") in HIDING:
        return "refused"
    return "allowed"


async def test_every_vtuber_and_operator_endpoint_as_every_caller(
    studio: Studio, world: dict[str, Any]
) -> None:
    wrong: list[str] = []
    for method, template, body, allowed in CELLS:
        path = fill(template, world["ids"])
        for name in CALLERS:
            who = world["callers"][name]
            response = await ask(studio.client, method, path, body, who)
            got = verdict(response)
            if name == "anonymous" and got == "refused" and allowed != frozenset(CALLERS):
                if response.status_code != 401:
                    wrong.append(f"{method} {template} anonymous: {response.status_code}, not 401")
                continue
            want = "allowed" if name in allowed else "refused"
            if got != want:
                wrong.append(
                    f"{method} {template} as {name}: {got} ({response.status_code} "
                    f"{response.text[:160]}), want {want}"
                )
    assert not wrong, "\n".join(wrong)


def shape(path: str) -> str:
    """``path`` with every parameter (and the sample month) as ``{}``, its query dropped."""
    return "/".join(
        "{}" if part.startswith("{") or part == "2026-10" else part
        for part in path.split("?")[0].split("/")
    )


def test_the_matrix_names_every_vtuber_and_payout_route(platform: Platform) -> None:
    """A new VTuber or payout route cannot land without its row above."""
    paths = create_app(platform, manage_lifecycle=False).openapi()["paths"]
    prefixes = (
        "/api/v1/vtubers",
        "/api/v1/me/vtubers",
        "/api/v1/vtuber-invitations",
        "/api/v1/admin/vtubers",
        "/api/v1/admin/statements",
        "/api/v1/admin/payouts",
    )
    served = {
        (method.upper(), shape(path))
        for path, operations in paths.items()
        for method in operations
        if path.startswith(prefixes)
    }
    listed = {(method, shape(template)) for method, template, _, _ in CELLS}
    assert served - listed == set(), f"routes without a row: {sorted(served - listed)}"
