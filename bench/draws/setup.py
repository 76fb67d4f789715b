"""The draw benchmark's data, written straight into the services (no HTTP purchases): two
demo gachas published as the gacha tests' desk does (approved, odds version 1 in force), and
fans signed in and funded with a paid lot each (payment's ``issue_lot``).

``python -m bench.draws.setup OUT.json --fans GROUP=COUNT:MEDALS …`` with the platform's
``KOEPON_`` environment; writes the gacha ids and every group's fans ``{id, token}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher

from koepon.app import Platform
from koepon.gacha.catalog.models import Gacha, OddsVersionRow
from koepon.gacha.odds.model import GachaConfig
from koepon.gacha.odds.versions import config_digest
from koepon.kernel.settings import Settings

BATCH = 25
PRICE = 100  # medals per single draw; a 10連 costs ten times that
ITEMS = [
    ("voice-n1", "N", 300_000),
    ("voice-n2", "N", 300_000),
    ("wall-r1", "R", 140_000),
    ("wall-r2", "R", 140_000),
    ("illust-sr1", "SR", 45_000),
    ("illust-sr2", "SR", 45_000),
    ("video-ssr", "SSR", 27_000),
    ("signed-ur", "UR", 3_000),
]


def demo_config(now: datetime) -> dict[str, Any]:
    """A weighted gacha with everything a saga touches: 10連 with a guaranteed slot, pity,
    exchange points; no per-fan limits (the benchmark's fans draw thousands of times)."""
    return {
        "kind": "weighted",
        "price_medals": PRICE,
        "price_jpy": PRICE,
        "period": {
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(days=7)).isoformat(),
        },
        "items": [
            {"item_id": i, "content_id": f"content-{i}", "rarity": r, "name": i}
            for i, r, _ in ITEMS
        ],
        "main": [{"item_id": i, "weight": w} for i, _, w in ITEMS],
        "multi": {
            "count": 10,
            "price_medals": PRICE * 10,
            "price_jpy": PRICE * 10,
            "guaranteed": {
                "min_rarity": "SR",
                "table": [
                    {"item_id": "illust-sr1", "weight": 450},
                    {"item_id": "illust-sr2", "weight": 450},
                    {"item_id": "video-ssr", "weight": 90},
                    {"item_id": "signed-ur", "weight": 10},
                ],
            },
        },
        "pity": {
            "draws": 200,
            "min_rarity": "UR",
            "table": [{"item_id": "signed-ur", "weight": 1}],
        },
        "exchange": {
            "points_per_paid_draw": 1,
            "offers": [{"item_id": "signed-ur", "cost_points": 200}],
        },
    }


async def publish(platform: Platform, title: str) -> str:
    """An approved gacha with odds version 1 in force (as tests/gacha/conftest.py Desk)."""
    ctx = platform.units["gacha"].context  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    config = GachaConfig.model_validate(demo_config(now))
    gacha_id = str(uuid.uuid4())
    async with ctx.db.transaction() as session:
        session.add(
            Gacha(
                id=gacha_id,
                vtuber_id="vt-bench",
                title=title,
                description="",
                kind=config.kind,
                status="approved",
                draft=config.model_dump(mode="json"),
                current_version=1,
                created_by="bench",
                created_at=now,
                updated_at=now,
            )
        )
        await session.flush()
        session.add(
            OddsVersionRow(
                gacha_id=gacha_id,
                version=1,
                config=config.model_dump(mode="json"),
                digest=config_digest(config),
                published_at=now - timedelta(hours=2),
                effective_at=now - timedelta(hours=2),
                change_note="",
                published_by="bench",
            )
        )
    return gacha_id


async def fan(platform: Platform, medals: int) -> dict[str, str]:
    """A signed-up, signed-in fan holding ``medals`` paid medals."""
    auth = platform.units["auth"].client.service  # type: ignore[attr-defined]
    email = f"bench-{uuid.uuid4().hex[:12]}@example.jp"
    password = "bench-" + uuid.uuid4().hex
    async with auth.db.transaction() as session:
        user = await auth.signup(
            session,
            email=email,
            password=password,
            display_name="ベンチ",
            birthdate=datetime(1995, 5, 5).date(),
            email_verified=True,
            check_password=False,
        )
    async with auth.db.transaction() as session:
        pair = await auth.login(session, email=email, password=password, ip="127.0.0.1")
    payment = platform.units["payment"]
    async with payment.context.db.transaction() as session:  # type: ignore[attr-defined]
        await payment.services.wallets.issue_lot(  # type: ignore[attr-defined]
            session,
            user_id=user.id,
            kind="paid",
            medals=medals,
            price_jpy=medals,
            source="bench",
            transfer_id=f"bench-{user.id}",
        )
    return {"id": user.id, "token": pair.access_token}


async def prepare(groups: dict[str, tuple[int, int]]) -> dict[str, Any]:
    platform = Platform(Settings())
    # Fans sign in here, not through the API: a cheap hash keeps 1,000 sign-ups to seconds.
    auth = platform.units["auth"].client.service  # type: ignore[attr-defined]
    auth.passwords.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    try:
        out: dict[str, Any] = {
            "single": await publish(platform, "ベンチ単発"),
            "multi": await publish(platform, "ベンチ10連"),
            "spike": await publish(platform, "ベンチスパイク"),
            "price": PRICE,
            "fans": {},
        }
        for name, (count, medals) in groups.items():
            fans: list[dict[str, str]] = []
            while len(fans) < count:
                batch = min(BATCH, count - len(fans))
                fans += await asyncio.gather(*(fan(platform, medals) for _ in range(batch)))
            out["fans"][name] = fans
        return out
    finally:
        await platform.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--fans", action="append", default=[], help="GROUP=COUNT:MEDALS")
    args = parser.parse_args()
    groups = {}
    for spec in args.fans:
        name, numbers = spec.split("=", 1)
        count, medals = numbers.split(":", 1)
        groups[name] = (int(count), int(medals))
    args.out.write_text(json.dumps(asyncio.run(prepare(groups))))


if __name__ == "__main__":
    main()
