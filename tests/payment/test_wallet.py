"""Fans' wallets on both backends: spending under attack, lots and expiry, claw-backs, the
spending client for other services, and the wallet API with its authorization."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select

from koepon.app import Platform, create_app
from koepon.contracts.payment import MedalsRefused
from koepon.kernel.cache import Cache
from koepon.kernel.settings import Settings
from koepon.payment.client import HttpMedalWallets
from koepon.payment.models import outbox
from koepon.payment.wallet.models import MedalLot, MedalLotMovement
from koepon.payment.wallet.service import WalletService
from koepon.payment.wallet.spending import Spending

from .conftest import WalletHarness, new_user

ROOT = Path(__file__).resolve().parents[2]
PROBLEM = "application/problem+json"


async def refusal(call) -> str:  # type: ignore[no-untyped-def]
    try:
        await call
    except MedalsRefused as exc:
        return exc.code
    raise AssertionError("expected a refusal")


async def lots_of(wallets: WalletHarness, user_id: str) -> list:  # type: ignore[type-arg]
    async with wallets.ctx.db.transaction() as session:
        rows = await session.execute(
            select(MedalLot).where(MedalLot.user_id == user_id).order_by(MedalLot.expires_at)
        )
        return list(rows.scalars())


# -- spending under attack -----------------------------------------------------------------------


async def test_200_concurrent_spends_on_a_wallet_that_affords_50(wallets: WalletHarness) -> None:
    user = new_user()
    await wallets.issue(user, 30, price_jpy=300)
    await wallets.issue(user, 20, kind="free")
    medals = wallets.platform.clients.payment

    async def spend(i: int) -> bool:
        try:
            await medals.reserve(user, 1, f"draw-{i}", 60)
        except MedalsRefused as exc:
            assert exc.code == "insufficient_medals"
            return False
        posted = await medals.post(f"draw-{i}")
        assert posted.status == "posted"
        return True

    results = await asyncio.gather(*(spend(i) for i in range(200)))
    assert sum(results) == 50
    balance = await medals.balance(user)
    assert (balance.paid_medals, balance.free_medals) == (0, 0)
    lots = await lots_of(wallets, user)
    assert all(lot.remaining == 0 and lot.held == 0 for lot in lots)
    assert all(lot.consumed == lot.medals for lot in lots)


async def test_replays_of_one_transfer_id_have_one_effect(wallets: WalletHarness) -> None:
    user = new_user()
    await wallets.issue(user, 10)
    medals = wallets.platform.clients.payment
    holds = await asyncio.gather(*(medals.reserve(user, 4, "draw-x", 60) for _ in range(10)))
    assert len({h.model_dump_json() for h in holds}) == 1
    posts = await asyncio.gather(*(medals.post("draw-x") for _ in range(10)))
    assert {p.status for p in posts} == {"posted"}
    assert (await medals.balance(user)).paid_medals == 6
    assert await refusal(medals.reserve(user, 5, "draw-x", 60)) == "transfer_id_reused"
    assert await refusal(medals.reserve(new_user(), 4, "draw-x", 60)) == "transfer_id_reused"
    assert await refusal(medals.void("draw-x")) == "hold_already_posted"
    assert await refusal(medals.post("draw-x", 3)) == "hold_already_posted"
    assert await refusal(medals.post("no-such-draw")) == "hold_not_found"


async def test_a_short_wallet_spends_nothing(wallets: WalletHarness) -> None:
    user = new_user()
    await wallets.issue(user, 3, kind="free")
    await wallets.issue(user, 3)
    medals = wallets.platform.clients.payment
    assert await refusal(medals.reserve(user, 7, "draw-short", 60)) == "insufficient_medals"
    balance = await medals.balance(user)
    assert (balance.free_medals, balance.paid_medals) == (3, 3)
    assert await medals.hold("draw-short") is None


async def test_partial_post_returns_the_rest_to_its_lots(wallets: WalletHarness) -> None:
    user = new_user()
    await wallets.issue(user, 4, kind="free")
    await wallets.issue(user, 10, price_jpy=150)
    medals = wallets.platform.clients.payment
    hold = await medals.reserve(user, 10, "draw-p", 60)
    assert (hold.free_medals, hold.paid_medals) == (4, 6)
    posted = await medals.post("draw-p", 7)
    # The first 7 in spend order: 4 free, then 3 paid worth ceil(150·10/10) − ceil(150·7/10) = 45.
    assert (posted.posted_free_medals, posted.posted_paid_medals) == (4, 3)
    assert posted.posted_paid_value_jpy == 45
    balance = await medals.balance(user)
    assert (balance.free_medals, balance.paid_medals) == (0, 7)


async def test_a_killed_saga_is_voided_or_posted_never_both(
    wallets: WalletHarness, settings: Settings
) -> None:
    """A separate OS process reserves and is killed with SIGKILL before it posts. Then the
    sweeper (after the timeout) and a recovering saga race; then a saga's post races a void
    before the timeout. Each time exactly one wins."""
    clock = wallets.freeze()
    user = new_user()
    await wallets.issue(user, 20, price_jpy=2_000)
    medals = wallets.platform.clients.payment
    config = {"data_dir": str(settings.data_dir), "database_url": settings.database_url}
    script = (
        "import asyncio, json, sys\n"
        "from koepon.app import Platform\n"
        "from koepon.kernel.settings import Settings\n"
        "settings = Settings(**json.loads(sys.argv[1]))\n"
        "async def main():\n"
        "    platform = Platform(settings, ('payment',))\n"
        "    user, transfer_id, timeout = sys.argv[2], sys.argv[3], int(sys.argv[4])\n"
        "    await platform.clients.payment.reserve(user, 5, transfer_id, timeout)\n"
        "    print('reserved', flush=True)\n"
        "    await asyncio.sleep(3600)\n"
        "asyncio.run(main())\n"
    )

    async def reserve_and_die(transfer_id: str, timeout_seconds: int) -> None:
        proc = subprocess.Popen(  # noqa: ASYNC220 - read and waited for in threads below
            [
                sys.executable,
                "-c",
                script,
                json.dumps(config),
                user,
                transfer_id,
                str(timeout_seconds),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = await asyncio.to_thread(proc.stdout.readline)  # type: ignore[union-attr]
        assert line.strip() == "reserved"
        proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(proc.wait)

    # 1. The timeout passes: the sweeper and the saga's late post race.
    await reserve_and_die("draw-killed-1", 1)
    assert (await medals.balance(user)).paid_medals == 15
    # The other process reserved on the real clock; ours moves past its timeout.
    clock.now = datetime.now(UTC) + timedelta(seconds=2)
    swept, post = await asyncio.gather(
        wallets.services.wallet_sweeper.sweep_expired_holds(),
        medals.post("draw-killed-1"),
        return_exceptions=True,
    )
    hold = await medals.hold("draw-killed-1")
    assert hold is not None
    if hold.status == "voided":
        assert isinstance(post, MedalsRefused) and post.code in (
            "hold_expired",
            "hold_already_voided",
        )
    else:
        assert hold.status == "posted" and swept == 0
    assert (await medals.balance(user)).paid_medals == (20 if hold.status == "voided" else 15)

    # 2. Before the timeout: the recovering saga posts while an operator/sweeper voids.
    await reserve_and_die("draw-killed-2", 600)
    before = (await medals.balance(user)).paid_medals
    results = await asyncio.gather(
        medals.post("draw-killed-2"), medals.void("draw-killed-2"), return_exceptions=True
    )
    winners = [r for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, MedalsRefused)]
    assert len(winners) == 1 and len(losers) == 1, results
    final = await medals.hold("draw-killed-2")
    assert final is not None and final.status == winners[0].status
    after = (await medals.balance(user)).paid_medals
    assert after == (before if final.status == "posted" else before + 5)


# -- lots: order, expiry, notices ------------------------------------------------------------------


async def test_free_medals_first_then_earliest_expiry(wallets: WalletHarness) -> None:
    clock = wallets.freeze()
    user = new_user()
    late_paid = await wallets.issue(user, 5, expires_at=clock.now + timedelta(days=100))
    early_paid = await wallets.issue(user, 5, expires_at=clock.now + timedelta(days=10))
    late_free = await wallets.issue(user, 5, kind="free", expires_at=clock.now + timedelta(days=50))
    early_free = await wallets.issue(
        user, 5, kind="free", expires_at=clock.now + timedelta(days=20)
    )
    async with wallets.ctx.db.transaction() as session:
        await wallets.services.spending.spend(session, user_id=user, medals=12, transfer_id="s1")
    left = {lot.id: lot.remaining for lot in await lots_of(wallets, user)}
    assert left == {early_free.id: 0, late_free.id: 0, early_paid.id: 3, late_paid.id: 5}

    # The other order (a setting): wallets built with it, the live settings left alone.
    ctx = replace(
        wallets.ctx,
        payment_settings=wallets.ctx.payment_settings.model_copy(
            update={"spend_free_first": False}
        ),
    )
    paid_first = Spending(WalletService(ctx, wallets.services.ledger))
    other = new_user()
    await wallets.issue(other, 5, kind="free")
    await wallets.issue(other, 5)
    async with wallets.ctx.db.transaction() as session:
        spent = await paid_first.spend(session, user_id=other, medals=6, transfer_id="s2")
    assert (spent.paid_medals, spent.free_medals) == (5, 1)
    assert wallets.ctx.payment_settings.spend_free_first  # unchanged for everyone else


async def test_an_expired_lot_stops_counting_at_its_hour_and_is_written_off(
    wallets: WalletHarness,
) -> None:
    clock = wallets.freeze()
    user = new_user()
    lot = await wallets.issue(user, 8, price_jpy=800)
    assert lot.expires_at.minute == 0 and lot.expires_at.second == 0  # ends on a whole hour
    assert timedelta(days=180) <= lot.expires_at - lot.issued_at < timedelta(days=180, hours=1)
    medals = wallets.platform.clients.payment
    clock.now = lot.expires_at - timedelta(seconds=1)
    assert (await medals.balance(user)).paid_medals == 8
    clock.now = lot.expires_at
    assert (await medals.balance(user)).paid_medals == 0  # before any write-off ran
    assert await refusal(medals.reserve(user, 1, "late-draw", 60)) == "insufficient_medals"
    assert await wallets.services.wallet_sweeper.write_off_expired_lots() == 1
    assert await wallets.services.wallet_sweeper.write_off_expired_lots() == 0
    [written_off] = await lots_of(wallets, user)
    assert (written_off.remaining, written_off.consumed) == (0, 8)
    async with wallets.ctx.db.transaction() as session:
        entries = (
            await session.execute(
                select(MedalLotMovement.entry, MedalLotMovement.medals, MedalLotMovement.value_jpy)
                .where(MedalLotMovement.lot_id == lot.id)
                .order_by(MedalLotMovement.seq)
            )
        ).all()
    assert [tuple(e) for e in entries] == [("issue", 8, 800), ("expire", 8, 800)]


async def test_fans_are_told_once_seven_days_before_a_lot_expires(wallets: WalletHarness) -> None:
    clock = wallets.freeze()
    user = new_user()
    lot = await wallets.issue(user, 5, kind="free")
    clock.now = lot.expires_at - timedelta(days=7, seconds=1)
    assert await wallets.services.wallet_sweeper.send_expiry_notices() == 0
    clock.now = lot.expires_at - timedelta(days=7)
    sent = await asyncio.gather(
        *(wallets.services.wallet_sweeper.send_expiry_notices() for _ in range(3))
    )
    assert sum(sent) == 1
    assert await wallets.services.wallet_sweeper.send_expiry_notices() == 0
    async with wallets.ctx.db.transaction() as session:
        rows = (
            await session.execute(
                select(outbox.c.payload).where(outbox.c.topic == "payment.medals.expiring.v1")
            )
        ).all()
    assert [r.payload["lot_id"] for r in rows] == [lot.id]


async def test_a_void_after_expiry_returns_medals_that_are_then_written_off(
    wallets: WalletHarness,
) -> None:
    clock = wallets.freeze()
    user = new_user()
    lot = await wallets.issue(user, 6)
    medals = wallets.platform.clients.payment
    await medals.reserve(user, 4, "draw-e", 86_400)
    clock.now = lot.expires_at + timedelta(hours=1)
    assert await wallets.services.wallet_sweeper.write_off_expired_lots() == 1  # the 2 not held
    await medals.void("draw-e")
    assert await wallets.services.wallet_sweeper.write_off_expired_lots() == 1  # the 4 released
    [done] = await lots_of(wallets, user)
    assert (done.remaining, done.held, done.consumed) == (0, 0, 6)


# -- claw-backs ------------------------------------------------------------------------------------


async def test_a_claw_back_beyond_the_balance_locks_the_wallet_until_settled(
    wallets: WalletHarness,
) -> None:
    user = new_user()
    bought = await wallets.issue(user, 10, price_jpy=1_000)
    await wallets.issue(user, 5, kind="free")
    medals = wallets.platform.clients.payment
    await medals.reserve(user, 11, "draw-c", 60)
    await medals.post("draw-c")  # 5 free + 6 paid spent: 4 paid left
    async with wallets.ctx.db.transaction() as session:
        result = await wallets.services.wallets.claw_back(
            session,
            user_id=user,
            medals=10,
            transfer_id="chargeback-1",
            reason="chargeback: card dispute",
            actor="provider:sandbox",
            lot_transfer_id=bought.transfer_id,
        )
    assert (result.taken_medals, result.owed_medals) == (4, 6)
    balance = await medals.balance(user)
    assert (balance.paid_medals, balance.owed_medals, balance.locked) == (0, 6, True)
    await wallets.issue(user, 3, kind="free")
    assert await refusal(medals.reserve(user, 1, "draw-locked", 60)) == "wallet_locked"

    settle = await wallets.issue(user, 10, price_jpy=1_000)
    assert settle.settled_medals == 6
    balance = await medals.balance(user)
    assert (balance.paid_medals, balance.owed_medals, balance.locked) == (4, 0, False)
    await medals.reserve(user, 7, "draw-after", 60)

    async with wallets.ctx.db.transaction() as session:  # the same claw-back again: no effect
        again = await wallets.services.wallets.claw_back(
            session,
            user_id=user,
            medals=10,
            transfer_id="chargeback-1",
            reason="chargeback: card dispute",
            actor="provider:sandbox",
        )
    assert (again.taken_medals, again.medals) == (4, 10)


# -- the client over HTTP --------------------------------------------------------------------------


async def test_the_http_client_spends_through_internal_routes(
    wallets: WalletHarness, platform: Platform, settings: Settings
) -> None:
    user = new_user()
    await wallets.issue(user, 9)
    app = create_app(platform, gateway=False, manage_lifecycle=False)
    token = settings.internal_token.get_secret_value()  # type: ignore[union-attr]
    medals = HttpMedalWallets("http://payment", token, transport=httpx.ASGITransport(app=app))
    try:
        hold = await medals.reserve(user, 4, "http-draw", 30)
        assert hold.status == "pending"
        assert (await medals.reserve(user, 4, "http-draw", 30)) == hold
        assert (await medals.post("http-draw")).status == "posted"
        assert (await medals.balance(user)).paid_medals == 5
        assert await refusal(medals.reserve(user, 6, "http-2", 30)) == "insufficient_medals"
        assert await medals.hold("nope") is None
        await medals.reserve(user, 2, "http-3", 30)
        assert (await medals.void("http-3")).status == "voided"
    finally:
        await medals.close()

    stranger = HttpMedalWallets("http://payment", "wrong", transport=httpx.ASGITransport(app=app))
    try:
        exc = await refusal(stranger.reserve(user, 1, "http-4", 30))
        assert exc == "forbidden"
        assert await refusal(stranger.balance(user)) == "forbidden"
        assert await refusal(stranger.post("http-3")) == "forbidden"
        assert await refusal(stranger.void("http-3")) == "forbidden"
    finally:
        await stranger.close()


# -- the wallet API --------------------------------------------------------------------------------


async def test_the_wallet_shows_balances_lots_expiries_and_history(wallets: WalletHarness) -> None:
    fan = await wallets.account()
    clock = wallets.freeze()
    await wallets.issue(fan.id, 100, price_jpy=1_100, source="purchase")  # no checkout behind it
    soon = await wallets.issue(fan.id, 10, kind="free", expires_at=clock.now + timedelta(days=3))
    response = await wallets.client.get("/api/v1/wallet", headers=fan.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["paid_medals"], body["free_medals"], body["locked"]) == (100, 10, False)
    # Month spending counts checkouts, not lots (see test_caps_limits for a real purchase).
    assert body["month_spent_jpy"] == 0
    assert body["month_cap_jpy"] is None  # an adult without a self-set cap
    assert [e["lot_id"] for e in body["upcoming_expiries"]] == [soon.id]
    assert {lot["kind"] for lot in body["lots"]} == {"paid", "free"}

    await wallets.platform.clients.payment.reserve(fan.id, 15, "api-draw", 60)
    await wallets.platform.clients.payment.post("api-draw")
    fresh = (await wallets.client.get("/api/v1/wallet", headers=fan.headers)).json()
    assert (fresh["paid_medals"], fresh["free_medals"]) == (95, 0)  # the cache was dropped

    first = await wallets.client.get(
        "/api/v1/wallet/transactions", params={"limit": 3}, headers=fan.headers
    )
    assert first.status_code == 200, first.text
    page = first.json()
    assert [i["type"] for i in page["items"]] == ["spend", "spend", "spend_reserved"]
    second = await wallets.client.get(
        "/api/v1/wallet/transactions",
        params={"limit": 3, "cursor": page["next_cursor"]},
        headers=fan.headers,
    )
    rest = second.json()
    assert [i["type"] for i in rest["items"]] == ["spend_reserved", "grant", "purchase"]
    assert rest["next_cursor"] is None
    effects = sum(i["balance_effect"] for i in page["items"] + rest["items"])
    assert effects == 95
    bad = await wallets.client.get(
        "/api/v1/wallet/transactions", params={"limit": 1000}, headers=fan.headers
    )
    assert bad.status_code == 422


async def test_operators_grant_and_claw_back_with_a_recorded_reason(
    wallets: WalletHarness,
) -> None:
    support = await wallets.account(roles=["support"])
    admin = await wallets.account(roles=["admin"])
    fan = await wallets.account()
    granted = await wallets.client.post(
        f"/api/v1/admin/wallets/{fan.id}/grants",
        json={"medals": 50, "reason": "compensation: outage 2025-01-02"},
        headers={**support.headers, "Idempotency-Key": "grant-1"},
    )
    assert granted.status_code == 201, granted.text
    again = await wallets.client.post(
        f"/api/v1/admin/wallets/{fan.id}/grants",
        json={"medals": 50, "reason": "compensation: outage 2025-01-02"},
        headers={**support.headers, "Idempotency-Key": "grant-1"},
    )
    assert again.json()["lot_id"] == granted.json()["lot_id"]
    clawed = await wallets.client.post(
        f"/api/v1/admin/wallets/{fan.id}/claw-backs",
        json={"medals": 60, "kind": "free", "reason": "abuse of a campaign"},
        headers=admin.headers,
    )
    assert clawed.status_code == 201, clawed.text
    assert (clawed.json()["taken_medals"], clawed.json()["owed_medals"]) == (50, 10)
    view = await wallets.client.get(f"/api/v1/admin/wallets/{fan.id}", headers=support.headers)
    assert view.status_code == 200
    actions = view.json()["operator_actions"]
    assert [(a["action"], a["actor_user_id"], a["reason"]) for a in actions] == [
        ("claw_back", admin.id, "abuse of a campaign"),
        ("grant", support.id, "compensation: outage 2025-01-02"),
    ]
    assert view.json()["wallet"]["locked"] is True
    missing = await wallets.client.post(
        f"/api/v1/admin/wallets/{fan.id}/grants",
        json={"medals": 5, "reason": ""},
        headers=support.headers,
    )
    assert missing.status_code == 422


async def test_every_wallet_endpoint_checks_who_calls(wallets: WalletHarness) -> None:
    fan = await wallets.account()
    compliance = await wallets.account(roles=["compliance"])
    support = await wallets.account(roles=["support"])
    http = wallets.client
    target = f"/api/v1/admin/wallets/{fan.id}"
    grant = {"medals": 1, "reason": "test"}
    claw = {"medals": 1, "reason": "test"}
    cases = [
        ("GET", "/api/v1/wallet", None, None, 401),
        ("GET", "/api/v1/wallet/transactions", None, None, 401),
        ("GET", target, None, None, 401),
        ("GET", target, fan, None, 403),
        ("GET", target, compliance, None, 403),
        ("POST", f"{target}/grants", None, grant, 401),
        ("POST", f"{target}/grants", fan, grant, 403),
        ("POST", f"{target}/grants", compliance, grant, 403),
        ("POST", f"{target}/claw-backs", None, claw, 401),
        ("POST", f"{target}/claw-backs", fan, claw, 403),
        ("POST", f"{target}/claw-backs", compliance, claw, 403),
        ("GET", "/api/v1/admin/ledger/audit", None, None, 401),
        ("GET", "/api/v1/admin/ledger/audit", fan, None, 403),
        ("GET", "/api/v1/admin/ledger/audit", support, None, 403),
        ("GET", "/api/v1/wallet", fan, None, 200),
        ("GET", target, support, None, 200),
        ("GET", "/api/v1/admin/ledger/audit", compliance, None, 200),
    ]
    for method, path, who, body, status in cases:
        headers = who.headers if who else {}
        response = await http.request(method, path, json=body, headers=headers)
        assert response.status_code == status, (method, path, who, response.text)
        if status >= 400:
            assert response.headers["content-type"].startswith(PROBLEM)
    audit = (await http.get("/api/v1/admin/ledger/audit", headers=compliance.headers)).json()
    assert audit == {"ok": True, "violations": []}
    internal = await http.post(
        "/internal/payment/holds",
        json={"user_id": fan.id, "medals": 1, "transfer_id": "x"},
    )
    assert internal.status_code in (403, 404)
    async with wallets.ctx.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(MedalLot)) == 0


class BrokenCache:
    """A cache whose writes (or every call) fail, standing in for the wallet pages' cache."""

    def __init__(self, inner: Cache, *, reads_fail: bool = False) -> None:
        self.inner = inner
        self.reads_fail = reads_fail
        self.failed_writes = 0

    async def get(self, key: str) -> bytes | None:
        if self.reads_fail:
            raise ConnectionError("cache down")
        return await self.inner.get(key)

    async def set(self, key: str, value: bytes, ttl_seconds: int | None = None) -> None:
        self.failed_writes += 1
        raise ConnectionError("cache down")

    async def delete(self, *keys: str) -> None:
        self.failed_writes += 1
        raise ConnectionError("cache down")


async def test_the_wallet_page_is_never_stale_even_when_the_cache_fails(
    wallets: WalletHarness,
) -> None:
    """Cached pages are keyed by the wallet's version (read from the database each time), so
    a cache that cannot delete or write still never shows an old balance."""
    fan = await wallets.account()
    await wallets.issue(fan.id, 40)
    first = (await wallets.client.get("/api/v1/wallet", headers=fan.headers)).json()
    assert first["paid_medals"] == 40  # now cached under the current version

    pages = wallets.services.wallet_views.pages
    healthy = pages.cache
    broken = BrokenCache(healthy)
    pages.cache = broken  # type: ignore[assignment]
    try:
        await wallets.platform.clients.payment.reserve(fan.id, 15, "stale-draw", 60)
        await wallets.platform.clients.payment.post("stale-draw")
        after = await wallets.client.get("/api/v1/wallet", headers=fan.headers)
        assert after.status_code == 200, after.text
        assert after.json()["paid_medals"] == 25  # not the cached 40
        assert broken.failed_writes  # the page tried to cache itself and shrugged it off
    finally:
        pages.cache = healthy


async def test_a_cache_that_cannot_be_read_costs_a_query_not_the_page(
    wallets: WalletHarness,
) -> None:
    fan = await wallets.account()
    await wallets.issue(fan.id, 7)
    pages = wallets.services.wallet_views.pages
    healthy = pages.cache
    pages.cache = BrokenCache(healthy, reads_fail=True)  # type: ignore[assignment]
    try:
        page = await wallets.client.get("/api/v1/wallet", headers=fan.headers)
    finally:
        pages.cache = healthy
    assert page.status_code == 200, page.text
    assert page.json()["paid_medals"] == 7


async def test_a_cached_page_does_not_outlive_a_lot_expiring(wallets: WalletHarness) -> None:
    """No transfer happens when a lot's hour passes, so the version stays the same: the cached
    page carries the instant it stops being true and is not served after it."""
    fan = await wallets.account()
    clock = wallets.freeze()
    await wallets.issue(fan.id, 10, expires_at=clock.now + timedelta(days=30))
    await wallets.issue(fan.id, 5, kind="free", expires_at=clock.now + timedelta(hours=2))
    before = (await wallets.client.get("/api/v1/wallet", headers=fan.headers)).json()
    assert (before["paid_medals"], before["free_medals"]) == (10, 5)
    assert before["upcoming_expiries"] != []

    clock.advance(hours=3)  # the free lot expired; it was not written off yet
    after = (await wallets.client.get("/api/v1/wallet", headers=fan.headers)).json()
    assert (after["paid_medals"], after["free_medals"]) == (10, 0)
    assert [lot["kind"] for lot in after["lots"]] == ["paid"]

    clock.advance(days=24)  # the paid lot comes within the notice period
    notice = (await wallets.client.get("/api/v1/wallet", headers=fan.headers)).json()
    assert [e["kind"] for e in notice["upcoming_expiries"]] == ["paid"]
