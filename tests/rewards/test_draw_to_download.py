"""The whole path a fan's prize takes: a VTuber uploads pictures, a gacha holds them, a fan pays
and draws, the gacha's ``draw.completed`` reaches rewards through the outbox and the bus, the
item shows in the collection, the fan downloads a watermarked copy, and ``koepon trace-leak``
(the real command, in its own process) names the fan from a re-encoded, resized copy."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from gacha import samples
from gacha.conftest import (  # noqa: F401 - the desk fixture
    Desk,
    desk_fixture,
    live_now,
    vtuber_owner,
)
from koepon.demo_files import demo_picture
from koepon.rewards.contents.schemas import Actor, Upload
from payment.fixtures.shop import shop_fixture  # noqa: F401 - the shop fixture
from rewards.conftest import rewards_services
from rewards.images import leak


async def upload_picture(desk: Desk, vtuber_id: str, title: str, hue: int) -> str:
    contents = rewards_services(desk.platform).contents
    owner = await vtuber_owner(desk.platform, vtuber_id)
    made = await contents.upload(
        Actor(owner, frozenset()),
        vtuber_id,
        Upload(title, demo_picture(title, hue, size=(640, 480)), "image/png", "art.png"),
    )
    return str(made.id)


async def collection(desk: Desk, fan: Any, *, want: int) -> list[dict[str, Any]]:
    """The fan's collection once ``want`` items arrived (events are relayed asynchronously)."""
    for _ in range(100):
        page = await desk.client.get("/api/v1/collection", headers=fan.headers)
        assert page.status_code == 200, page.text
        items: list[dict[str, Any]] = page.json()["items"]
        if sum(item.get("count", 1) for item in items) >= want:
            return items
        await asyncio.sleep(0.1)
    raise AssertionError(f"the collection never showed {want} items: {items}")


async def test_a_drawn_picture_is_owned_downloaded_watermarked_and_traced(
    desk: Desk, backend: str, tmp_path: Path
) -> None:
    vtuber_id = "vt-e2e"
    raw = live_now(samples.box_raw())
    for hue, item in zip((20, 140, 260), raw["items"], strict=True):
        item["content_id"] = await upload_picture(desk, vtuber_id, f"Prize {item['item_id']}", hue)
    gacha_id = await desk.publish(raw, vtuber_id=vtuber_id)
    fan = await desk.fan(medals=5000)
    drawn = await desk.client.post(
        f"/api/v1/gachas/{gacha_id}/draws", json={"count": 10}, headers=fan.ik()
    )
    assert drawn.status_code in (200, 202), drawn.text

    items = await collection(desk, fan, want=10)
    by_item = {i["item_id"]: i for i in items}
    won = {
        r["item_id"]
        for r in (
            await desk.client.get(f"/api/v1/draws/{drawn.json()['id']}", headers=fan.headers)
        ).json()["results"]
    }
    assert set(by_item) == won
    for item in items:
        assert item["title"].startswith("Prize ") and item["preview_url"]
        if item["item_id"] == "photo-signed":  # the box's limited copies carry serials of 2
            assert item["serial_label"] in ("No. 1/2", "No. 2/2"), item

    entitlement = items[0]["id"]
    issued = await desk.client.post(
        f"/api/v1/collection/{entitlement}/download", headers=fan.headers
    )
    assert issued.status_code == 200, issued.text
    served = await desk.client.get(issued.json()["url"])
    assert served.status_code == 200 and served.headers["content-type"].startswith("image/")
    other = await desk.fan()
    stolen = await desk.client.post(
        f"/api/v1/collection/{entitlement}/download", headers=other.headers
    )
    assert stolen.status_code == 404

    if backend != "embedded":
        return  # the command reads the embedded data dir; the distributed run stops here
    leaked = tmp_path / "leaked.jpg"
    leaked.write_bytes(leak(served.content, quality=70, scale=0.5))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOEPON_")}
    env.update(
        KOEPON_DATA_DIR=str(desk.platform.settings.data_dir),
        KOEPON_ENVIRONMENT="test",
        KOEPON_LOG_LEVEL="WARNING",
    )
    traced = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "koepon.cli", "trace-leak", str(leaked)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert traced.returncode == 0, traced.stdout + traced.stderr
    assert f"owner: {fan.id}" in traced.stdout
    clean = tmp_path / "unmarked.jpg"
    clean.write_bytes(leak(demo_picture("Unrelated", 300, size=(640, 480))))
    unknown = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "koepon.cli", "trace-leak", str(clean)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert unknown.returncode == 1 and "unknown" in unknown.stdout, unknown.stdout
