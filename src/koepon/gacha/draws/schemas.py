"""Draw endpoints' bodies (API.md "Gachas") and the saga's results."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class DrawCreate(BaseModel):
    """``POST /api/v1/gachas/{id}/draws``: a single draw or a 10連."""

    model_config = ConfigDict(extra="forbid")
    count: Literal[1, 10] = Field(description="1 (single) or 10 (10連)")
    show_on_stream: bool = Field(
        False,
        description="show this pull on the VTuber's stream overlay (display name only)",
    )


class SlotResult(BaseModel):
    slot: int
    item_id: str
    rarity: str
    nonce: int
    table: str
    weights: list[dict[str, Any]] | None = None  # a box's remaining counts at the time


class DrawRead(BaseModel):
    """A draw as its fan sees it (API.md ``GET /api/v1/draws/{id}``)."""

    id: str
    status: str
    code: str | None = None
    detail: str | None = None
    gacha_id: str
    count: int
    price_medals: int
    results: list[SlotResult] = []
    odds_version: int | None = None
    server_seed_hash: str | None = None
    client_seed: str | None = None
    paid_medals: int | None = None
    free_medals: int | None = None
    points_earned: int = 0
    requested_at: datetime
    completed_at: datetime | None = None


class DrawAccepted(BaseModel):
    """202: the draw is queued; poll ``GET /api/v1/draws/{id}``."""

    id: str
    status: str


class DrawPage(BaseModel):
    items: list[DrawRead]
    next_cursor: str | None


class InclusionProofRead(BaseModel):
    """API.md ``GET /api/v1/draws/{id}/proof``."""

    leaf_index: int
    tree_size: int
    leaf: str
    proof: list[str]
    checkpoint: str


class FanStanding(BaseModel):
    """The caller's standing in one gacha: pity progress, exchange points, draws left."""

    gacha_id: str
    drawn: int
    drawn_today: int
    draws_left: int | None
    pity_progress: int
    pity_at: int | None
    points: int


class ExchangeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item_id: str = Field(min_length=1, max_length=64)


class ExchangeRead(BaseModel):
    id: str
    gacha_id: str
    item_id: str
    points: int
    points_left: int
    created_at: datetime


class FairnessRead(BaseModel):
    """``GET /api/v1/gachas/{id}/fairness``: the algorithm every draw of the gacha uses."""

    algorithm_version: int
    description: str
    verifier: str


class ReversalCreate(BaseModel):
    """``POST /api/v1/admin/draws/{id}/reverse``: why (kept and shown to operators)."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(
        min_length=1, max_length=2000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+$"
    )


class ReversalRead(BaseModel):
    draw_id: str
    user_id: str
    reason: str
    reversed_by: str
    reversed_at: datetime
