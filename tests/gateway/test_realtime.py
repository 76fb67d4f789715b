"""Real-time pushes through the gateway's Socket.IO endpoint (a real server, a real WebSocket),
on the embedded default and on PostgreSQL + Redis + RabbitMQ: a fan's own result, a gacha's
stock, a VTuber's stream overlay for fans who opted in, and refusals of hostile connections."""

from __future__ import annotations

import asyncio
import socket
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import uvicorn

from conftest import TEST_INTERNAL_TOKEN
from gacha import samples
from gacha.conftest import Desk, desk_fixture, live_now  # noqa: F401 - the desk fixture
from gateway.socketio_wire import Refused, Socket
from koepon.app import Platform
from koepon.auth.client import HttpAuthClient, LocalAuthClient
from koepon.contracts.gacha import DrawCompleted, DrawnItem
from koepon.contracts.vtuber import RevenueShare
from koepon.gateway.proxy import create_proxy_app
from koepon.gateway.realtime import Realtime, pull, stream_vtubers
from koepon.kernel.bus import Message
from koepon.kernel.cache import MemoryCache
from koepon.kernel.realtime_tickets import (
    gacha_room,
    issue_ticket,
    overlay_room,
    redeem_ticket,
    user_room,
)
from koepon.kernel.settings import Settings
from payment.fixtures.shop import shop_fixture  # noqa: F401 - the shop fixture
from vtuber.test_teams_client import internal_transport

QUIET_SECONDS = 0.4  # how long a socket that must get nothing is listened to


async def ready(platform: Platform) -> None:
    """The app is built: wait until its consumer takes messages (its queue exists)."""
    await asyncio.wait_for(platform.realtime().consuming.wait(), 5)


async def ticket(platform: Platform, *rooms: str) -> str:
    return await issue_ticket(platform.cache, list(rooms))


async def draw(desk: Desk, fan: Any, gacha_id: str, **body: Any) -> dict[str, Any]:
    answer = await desk.client.post(
        f"/api/v1/gachas/{gacha_id}/draws", json={"count": 1, **body}, headers=fan.ik()
    )
    assert answer.status_code in (200, 202), answer.text
    result: dict[str, Any] = answer.json()
    return result


async def test_a_fan_sees_their_own_result_and_a_watcher_the_stock_others_nothing(
    desk: Desk, served: str, platform: Platform
) -> None:
    await ready(platform)
    gacha_id = await desk.publish(live_now(samples.box_raw()))
    fan, other = await desk.fan(medals=5000), await desk.fan(medals=5000)
    mine = await Socket.open(served, {"ticket": await ticket(platform, user_room(fan.id))})
    theirs = await Socket.open(served, {"ticket": await ticket(platform, user_room(other.id))})
    watcher = await Socket.open(served, {"watch": [gacha_id]})
    try:
        drawn = await draw(desk, fan, gacha_id, count=10)
        pushed = await mine.next("draw.completed")
        assert pushed["draw_id"] == drawn["id"] and pushed["gacha_id"] == gacha_id
        assert pushed["vtuber_id"] == "vt-demo" and pushed["count"] == 10
        assert [i["slot"] for i in pushed["items"]] == list(range(10))
        assert set(pushed["items"][0]) == {
            "slot",
            "item_id",
            "content_id",
            "rarity",
            "limited",
            "copies",
        }
        assert await watcher.next("stock.changed") == {"gacha_id": gacha_id}
        await asyncio.sleep(QUIET_SECONDS)
        assert theirs.pending() == []
        assert all(name != "draw.completed" for name, _ in watcher.pending())
    finally:
        for conn in (mine, theirs, watcher):
            await conn.close()


async def test_the_overlay_shows_a_pull_only_when_the_fan_opted_in(
    desk: Desk, served: str, platform: Platform
) -> None:
    await ready(platform)
    raw = live_now(samples.weighted_raw())
    raw["revenue_shares"] = [
        {"vtuber_id": "vt-demo", "share_bp": 6000},
        {"vtuber_id": "vt-collab", "share_bp": 4000},
    ]
    gacha_id = await desk.publish(raw)
    fan = await desk.fan(medals=5000)
    own = await Socket.open(served, {"ticket": await ticket(platform, user_room(fan.id))})
    overlay = await Socket.open(served, {"ticket": await ticket(platform, overlay_room("vt-demo"))})
    collab = await Socket.open(
        served, {"ticket": await ticket(platform, overlay_room("vt-collab"))}
    )
    try:
        quiet = await draw(desk, fan, gacha_id)
        assert (await own.next("draw.completed"))["draw_id"] == quiet["id"]
        shown = await draw(desk, fan, gacha_id, show_on_stream=True)
        assert (await own.next("draw.completed"))["draw_id"] == shown["id"]
        for screen in (overlay, collab):
            pushed = await screen.next("pull")
            assert pushed["draw_id"] == shown["id"]  # the quiet draw never reached it
            assert pushed["display_name"] == "推し活ファン"
            assert set(pushed) == {
                "display_name",
                "gacha_id",
                "draw_id",
                "rarities",
                "best_rarity",
                "big",
            }
            assert fan.id not in str(pushed) and fan.email not in str(pushed)
            assert pushed["big"] == (pushed["best_rarity"] in ("SSR", "UR"))
    finally:
        for conn in (own, overlay, collab):
            await conn.close()


HOSTILE_AUTH: list[Any] = [
    None,
    {},
    "ticket",
    [1, 2],
    {"ticket": "x" * 43},
    {"ticket": "short"},
    {"ticket": 12},
    {"ticket": None, "watch": None},
    {"watch": "gacha"},
    {"watch": ["a", "b", "c", "d", "e", "f"]},
    {"watch": ["../etc"]},
    {"watch": ["x" * 65]},
    {"watch": [{"$ne": 1}]},
    {"watch": ["ok"], "rooms": ["user:someone"]},
]


async def test_bad_tickets_and_malformed_watch_lists_are_refused(
    served: str, platform: Platform
) -> None:
    for auth in HOSTILE_AUTH:
        with pytest.raises(Refused):
            await Socket.open(served, auth)
    # The server is still well: a good connection is taken.
    fine = await Socket.open(served, {"watch": ["gacha-1"]})
    await fine.close()


async def test_a_push_consumed_by_another_gateway_process_reaches_this_ones_sockets(
    served: str, platform: Platform, backend: str
) -> None:
    if backend != "distributed":
        pytest.skip("one process holds every socket in the embedded mode")
    await ready(platform)
    conn = await Socket.open(served, {"ticket": await ticket(platform, user_room("u-1"))})
    # Another gateway process: its own server, the same Redis channel.
    other = Realtime(platform.settings, platform.cache, None)
    try:
        event = completed(on_stream=False).model_dump(mode="json")
        for _attempt in range(10):  # until this process listens on the channel
            await other.on_message(message(event))
            try:
                pushed = await conn.next("draw.completed", wait=0.5)
                break
            except TimeoutError:
                continue
        else:
            raise AssertionError("the push never crossed processes")
        assert pushed["draw_id"] == "d-1"
    finally:
        await conn.close()
        await other.close()


async def test_a_page_of_another_origin_is_refused(served: str, platform: Platform) -> None:
    with pytest.raises(Refused):
        await Socket.open(served, {"watch": ["gacha-1"]}, origin="https://evil.example")
    same = await Socket.open(served, {"watch": ["gacha-1"]}, origin=served)
    await same.close()


async def test_auth_tells_a_display_name_in_process_and_over_http(
    desk: Desk, platform: Platform
) -> None:
    fan = await desk.fan()
    local = platform.units["auth"].client
    assert isinstance(local, LocalAuthClient)
    remote = HttpAuthClient(
        "http://auth", TEST_INTERNAL_TOKEN, transport=internal_transport(platform)
    )
    try:
        for client in (local, remote):
            assert await client.display_name(fan.id) == "推し活ファン"
            assert await client.display_name(str(uuid.uuid4())) is None
            assert await client.display_name("not-a-uuid") is None
    finally:
        await remote.aclose()


# -- the parts, without a platform ------------------------------------------------------------


def completed(**overrides: Any) -> DrawCompleted:
    values: dict[str, Any] = {
        "draw_id": "d-1",
        "user_id": "u-1",
        "gacha_id": "g-1",
        "vtuber_id": "vt-a",
        "odds_version": 1,
        "count": 2,
        "price_medals": 600,
        "paid_medals": 600,
        "free_medals": 0,
        "paid_value_jpy": 600,
        "items": [
            DrawnItem(slot=1, item_id="i2", content_id="c2", rarity="SSR", nonce=1),
            DrawnItem(slot=0, item_id="i1", content_id="c1", rarity="R", nonce=0),
        ],
        "completed_at": datetime.now(UTC),
        "on_stream": True,
    }
    return DrawCompleted(**{**values, **overrides})


def test_a_pull_names_the_fan_by_display_name_and_its_best_rarity() -> None:
    shown = pull(completed(), "ファン")
    assert shown == {
        "display_name": "ファン",
        "gacha_id": "g-1",
        "draw_id": "d-1",
        "rarities": ["R", "SSR"],
        "best_rarity": "SSR",
        "big": True,
    }
    assert pull(completed(items=completed().items[1:]), "ファン")["big"] is False


def test_a_collab_pull_goes_to_every_vtuber_sharing_the_gacha() -> None:
    shares = [
        RevenueShare(vtuber_id="vt-a", share_bp=5000),
        RevenueShare(vtuber_id="vt-b", share_bp=5000),
    ]
    assert list(dict.fromkeys(stream_vtubers(completed(shares=shares)))) == ["vt-a", "vt-b"]


class DownAuth:
    calls = 0

    async def display_name(self, user_id: str) -> str | None:
        self.calls += 1
        raise ConnectionError("auth is down")


def message(payload: dict[str, Any]) -> Message:
    return Message(
        id=str(uuid.uuid4()),
        topic=DrawCompleted.topic,
        payload=payload,
        occurred_at=datetime.now(UTC),
    )


async def test_with_auth_down_or_a_bad_event_the_consumer_skips_and_never_raises() -> None:
    auth = DownAuth()
    realtime = Realtime(Settings(environment="test"), MemoryCache(), auth)  # type: ignore[arg-type]
    emitted: list[tuple[str, Any]] = []

    async def emit(name: str, data: Any, to: Any = None, **_: Any) -> None:
        emitted.append((name, to))

    realtime.server.emit = emit  # type: ignore[method-assign]
    event = completed().model_dump(mode="json")
    await realtime.on_message(message(event))
    await realtime.on_message(message(event))  # redelivered: pushed again, no error
    assert auth.calls == 2
    assert (
        emitted == [("draw.completed", user_room("u-1")), ("stock.changed", gacha_room("g-1"))] * 2
    )
    await realtime.on_message(message({"draw_id": 1}))
    assert len(emitted) == 4


async def test_a_ticket_opens_its_rooms_until_it_expires_and_only_its_own() -> None:
    cache = MemoryCache()
    issued = await issue_ticket(cache, [user_room("u-1")], ttl_seconds=1)
    assert len(issued) == 43
    assert await redeem_ticket(cache, issued) == ["user:u-1"]
    assert await redeem_ticket(cache, issued) == ["user:u-1"]  # reconnects reuse it
    assert await redeem_ticket(cache, issued[:-1] + ("A" if issued[-1] != "A" else "B")) is None
    for hostile in ("", "x" * 1000, "realtime:ticket:*", None, 7):
        assert await redeem_ticket(cache, hostile) is None  # type: ignore[arg-type]
    await asyncio.sleep(1.1)
    assert await redeem_ticket(cache, issued) is None
    with pytest.raises(ValueError):
        await issue_ticket(cache, [])


async def test_the_gateway_process_on_its_own_pushes_what_it_consumes(
    platform: Platform, backend: str, listener: socket.socket
) -> None:
    if backend != "distributed":
        pytest.skip("the gateway runs as its own process in the distributed mode only")
    app = create_proxy_app(platform.settings, accounts=platform.units["auth"].client)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.02)
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    own = await Socket.open(base, {"ticket": await ticket(platform, user_room("u-1"))})
    try:
        event = completed(on_stream=False).model_dump(mode="json")
        for _attempt in range(10):  # until the gateway's queue exists and it listens
            await platform.bus.publish(message(event))
            try:
                pushed = await own.next("draw.completed", wait=0.5)
                break
            except TimeoutError:
                continue
        else:
            raise AssertionError("the gateway process never pushed the draw")
        assert pushed["draw_id"] == "d-1"
    finally:
        await own.close()
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


async def test_a_flood_of_connections_from_one_address_is_refused(platform: Platform) -> None:
    # WebSocket upgrades skip the HTTP admission middleware: the server meters them itself.
    settings = platform.settings.model_copy(update={"rate_limit_per_ip": "3/minute"})
    realtime = Realtime(settings, platform.cache, None)
    environ = {"asgi.scope": {"client": ("203.0.113.9", 5000)}}
    try:
        for _ in range(3):
            await realtime.admit(environ)
        with pytest.raises(Exception, match="too many connections"):
            await realtime.admit(environ)
        await realtime.admit({"asgi.scope": {"client": ("203.0.113.10", 5000)}})
    finally:
        await realtime.close()
