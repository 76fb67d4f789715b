"""Sample gacha configurations (raw JSON as a VTuber submits them) shared by the gacha tests."""

from __future__ import annotations

import copy
from typing import Any

from koepon.gacha.odds.model import GachaConfig

# A five-tier table: N 60%, R 28%, SR 9%, SSR 2.7%, UR 0.3% (W = 1,000,000).
TIER_WEIGHTS = {"N": 600_000, "R": 280_000, "SR": 90_000, "SSR": 27_000, "UR": 3_000}

_ITEMS = [
    ("voice-n1", "N", 300_000),
    ("voice-n2", "N", 300_000),
    ("wall-r1", "R", 140_000),
    ("wall-r2", "R", 140_000),
    ("illust-sr1", "SR", 45_000),
    ("illust-sr2", "SR", 45_000),
    ("video-ssr", "SSR", 27_000),
    ("signed-ur", "UR", 3_000),
]


def weighted_raw() -> dict[str, Any]:
    """A live-able weighted gacha: 10連 with an SR-or-better 10th slot, pity at 200 draws."""
    return copy.deepcopy(
        {
            "kind": "weighted",
            "price_medals": 300,
            "price_jpy": 300,
            "period": {"starts_at": "2026-12-01T00:00:00+09:00", "ends_at": None},
            "items": [
                {"item_id": i, "content_id": f"content-{i}", "rarity": r, "name": i.title()}
                for i, r, _ in _ITEMS
            ],
            "main": [{"item_id": i, "weight": w} for i, _, w in _ITEMS],
            "multi": {
                "count": 10,
                "price_medals": 3000,
                "price_jpy": 3000,
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
            "limits": {"max_draws": None, "max_draws_per_day": 300},
        }
    )


def box_raw() -> dict[str, Any]:
    """A box of 20 with two serial-numbered signed photos."""
    return copy.deepcopy(
        {
            "kind": "box",
            "price_medals": 500,
            "price_jpy": 500,
            "period": {"starts_at": "2026-12-01T00:00:00+09:00"},
            "items": [
                {"item_id": "photo-signed", "content_id": "c-photo", "rarity": "UR", "stock": 2},
                {"item_id": "voice-a", "content_id": "c-voice-a", "rarity": "R"},
                {"item_id": "voice-b", "content_id": "c-voice-b", "rarity": "N"},
            ],
            "box": [
                {"item_id": "photo-signed", "count": 2},
                {"item_id": "voice-a", "count": 6},
                {"item_id": "voice-b", "count": 12},
            ],
            "multi": {"count": 10, "price_medals": 5000, "price_jpy": 5000},
        }
    )


def step_up_raw() -> dict[str, Any]:
    """The weighted sample as a step-up: step 1 is cheap, step 2 guarantees an SSR or better."""
    raw = weighted_raw()
    del raw["multi"]
    raw["step_up"] = {
        "steps": [
            {"count": 10, "price_medals": 1500, "price_jpy": 1500},
            {
                "count": 10,
                "price_medals": 3000,
                "price_jpy": 3000,
                "guaranteed": {
                    "min_rarity": "SSR",
                    "table": [
                        {"item_id": "video-ssr", "weight": 9},
                        {"item_id": "signed-ur", "weight": 1},
                    ],
                },
            },
        ],
        "repeat": False,
    }
    return raw


def weighted() -> GachaConfig:
    return GachaConfig.model_validate(weighted_raw())


def box() -> GachaConfig:
    return GachaConfig.model_validate(box_raw())
