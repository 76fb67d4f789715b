"""Every draw re-computed from its revealed inputs by the standalone verifier (COMPLIANCE G9):
1,000 real draws through the saga — singles and 10連 of a weighted gacha with a guaranteed slot
and pity, and a box — each checked slot by slot, with its leaf in the public log."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from gacha import samples
from gacha.conftest import Desk, gacha_services, live_now
from koepon.gacha.fairness import verifier

VERIFIER = Path(verifier.__file__)


async def draw_now(desk: Desk, user_id: str, gacha_id: str, count: int) -> str:
    services = gacha_services(desk.platform)
    accepted = await services.draws.accept(
        user_id=user_id, gacha_id=gacha_id, count=count, key=uuid.uuid4().hex, fingerprint="f"
    )
    task = services.draw_worker.start(accepted.draw.id, accepted.draw)
    assert task is not None
    await task
    return accepted.draw.id


async def test_the_standalone_verifier_reproduces_1000_real_draws(
    desk: Desk, backend: str, tmp_path: Path
) -> None:
    if backend != "embedded":
        pytest.skip("the algorithm is the same code on both backends; once is enough")
    weighted_raw = samples.weighted_raw()
    weighted_raw["pity"]["draws"] = 20  # so that pity slots occur among the sample
    weighted_raw["limits"] = {}
    weighted = await desk.publish(live_now(weighted_raw))
    box_raw = samples.box_raw()
    box_raw["box"] = [
        {"item_id": "photo-signed", "count": 2},
        {"item_id": "voice-a", "count": 100},
        {"item_id": "voice-b", "count": 198},
    ]
    box = await desk.publish(live_now(box_raw))
    rng = random.Random(20261130)
    fans = [await desk.fan(free=2_000_000) for _ in range(4)]
    made: list[tuple[Any, str]] = []
    for n in range(1000):
        fan = rng.choice(fans)
        if n % 5 == 4:
            made.append((fan, await draw_now(desk, fan.id, box, 1)))
        else:
            made.append((fan, await draw_now(desk, fan.id, weighted, rng.choice((1, 1, 1, 10)))))
    services = gacha_services(desk.platform)
    while await services.draw_log.sequence():
        pass
    for fan in fans:
        rotated = await desk.client.post("/api/v1/me/seeds/rotate", headers=fan.headers)
        assert rotated.status_code == 200, rotated.text
    tables_seen: set[str] = set()
    for fan, draw_id in made:
        answer = await desk.client.get(f"/api/v1/draws/{draw_id}/verification", headers=fan.headers)
        assert answer.status_code == 200, answer.text
        bundle = answer.json()
        checks = verifier.verify(bundle)
        failed = [c for c in checks if not c.ok]
        assert not failed, (draw_id, failed)
        assert {c.name for c in checks} >= {"server seed", "log leaf", "checkpoint", "inclusion"}
        tables_seen |= {slot["table"] for slot in bundle["results"]}
    assert tables_seen == {"main", "guaranteed", "pity", "box"}
    # The published program itself, as a fan runs it: python3 verifier.py draw.json
    path = tmp_path / "draw.json"
    path.write_text(json.dumps(bundle))
    run = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-I", str(VERIFIER), str(path)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    tampered = dict(bundle, results=[dict(bundle["results"][0], item_id="forged")])
    path.write_text(json.dumps(tampered))
    refused = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-I", str(VERIFIER), str(path)],
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0


async def test_a_draw_cannot_be_verified_before_its_seed_is_revealed(desk: Desk) -> None:
    gacha_id = await desk.publish(live_now(samples.weighted_raw()))
    fan = await desk.fan(medals=300)
    made = await desk.client.post(
        f"/api/v1/gachas/{gacha_id}/draws", json={"count": 1}, headers=fan.ik()
    )
    draw_id = made.json()["id"]
    early = await desk.client.get(f"/api/v1/draws/{draw_id}/verification", headers=fan.headers)
    assert early.status_code == 409 and early.json()["code"] == "seed_not_revealed"
    other = await desk.fan()
    stranger = await desk.client.get(f"/api/v1/draws/{draw_id}/verification", headers=other.headers)
    assert stranger.status_code == 404
