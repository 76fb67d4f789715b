"""Who may call each payouts endpoint: anonymous, a fan, another VTuber's owner, the team's
manager and analyst, the owner, and the operators (admin, compliance, support)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from koepon.app import Platform
from koepon.vtuber.teams.models import Member
from vtuber.conftest import vtuber_services
from vtuber.test_payouts_statements import Caller, caller, cast, close, september_and_october

OK, DENIED, ANONYMOUS = 200, 403, 401


async def member(platform: Platform, vtuber_id: str, user: Caller, role: str) -> None:
    services = vtuber_services(platform)
    async with services.profiles.ctx.db.transaction() as session:
        session.add(
            Member(
                vtuber_id=vtuber_id,
                user_id=user.user_id,
                role=role,
                added_by="test",
                added_at=datetime(2026, 10, 1, tzinfo=UTC),
            )
        )


async def test_who_may_read_and_run_payouts(client: httpx.AsyncClient, platform: Platform) -> None:
    c = await cast(client, platform)
    await september_and_october(platform, c)
    c.clock.advance(seconds=1)
    assert (await close(client, c.admin, "2026-09")).status_code == 200
    assert (await close(client, c.admin, "2026-10")).status_code == 200
    fan = await caller(client, platform)
    manager = await caller(client, platform)
    analyst = await caller(client, platform)
    await member(platform, c.aoi, manager, "manager")
    await member(platform, c.aoi, analyst, "analyst")
    compliance = await caller(client, platform, "compliance")
    support = await caller(client, platform, "support")
    callers: dict[str, Caller | None] = {
        "anonymous": None,
        "fan": fan,
        "other owner": c.beni_owner,
        "manager": manager,
        "analyst": analyst,
        "owner": c.aoi_owner,
        "admin": c.admin,
        "compliance": compliance,
        "support": support,
    }

    async def answers(method: str, url: str, **kwargs: object) -> dict[str, int]:
        seen = {}
        for name, who in callers.items():
            if name == "admin" and method == "POST":
                continue  # the operator's own run is checked on its own below
            headers = {} if who is None else who.ik()
            response = await client.request(method, url, headers=headers, **kwargs)  # type: ignore[arg-type]
            seen[name] = response.status_code
        return seen

    def expect(**allowed: int) -> dict[str, int]:
        everyone = {name: DENIED for name in callers}
        everyone["anonymous"] = ANONYMOUS
        return everyone | allowed

    team_readers = expect(owner=OK, admin=OK, compliance=OK)
    auditors = expect(admin=OK, compliance=OK)
    for url in (
        f"/api/v1/vtubers/{c.aoi}/statements",
        f"/api/v1/vtubers/{c.aoi}/statements/2026-10",
    ):
        assert await answers("GET", url) == team_readers, url
    for url in (
        "/api/v1/admin/statements?month=2026-10",
        "/api/v1/admin/statements/reconciliation?month=2026-10",
        "/api/v1/admin/payouts/batches",
    ):
        assert await answers("GET", url) == auditors, url

    # operators' writes: admin only
    assert await answers("POST", "/api/v1/admin/statements/close", json={"month": "2026-10"}) == (
        {name: code for name, code in expect().items() if name != "admin"}
    )
    batch_request = {"month": "2026-10", "transfer_date": "2026-11-10"}
    assert await answers("POST", "/api/v1/admin/payouts/batches", json=batch_request) == {
        name: code for name, code in expect().items() if name != "admin"
    }
    created = await client.post(
        "/api/v1/admin/payouts/batches", json=batch_request, headers=c.admin.ik()
    )
    assert created.status_code == 201, created.text
    batch = f"/api/v1/admin/payouts/batches/{created.json()['id']}"
    assert await answers("GET", batch) == auditors
    assert await answers("GET", f"{batch}/zengin") == expect(admin=OK)
    assert await answers("POST", f"{batch}/paid") == {
        name: code for name, code in expect().items() if name != "admin"
    }
    unpaid = await client.get(batch, headers=c.admin.headers)
    assert unpaid.json()["status"] == "open"
    assert (await client.post(f"{batch}/paid", headers=c.admin.headers)).status_code == 200


async def test_an_unknown_vtuber_or_month(client: httpx.AsyncClient, platform: Platform) -> None:
    c = await cast(client, platform)
    unknown = await client.get("/api/v1/vtubers/no-such-vtuber/statements", headers=c.admin.headers)
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "vtuber_not_found"
    # another VTuber's owner learns nothing of whether it exists
    hidden = await client.get(
        "/api/v1/vtubers/no-such-vtuber/statements", headers=c.aoi_owner.headers
    )
    assert hidden.status_code == 403
    missing = await client.get(
        f"/api/v1/vtubers/{c.aoi}/statements/2026-10", headers=c.aoi_owner.headers
    )
    assert missing.status_code == 404
    assert missing.json()["code"] == "statement_not_found"
    bad = await client.get(
        f"/api/v1/vtubers/{c.aoi}/statements/2026-13", headers=c.aoi_owner.headers
    )
    assert bad.status_code == 422
    page = await client.get(f"/api/v1/vtubers/{c.aoi}/statements", headers=c.aoi_owner.headers)
    assert page.json() == {"items": [], "next_cursor": None}
