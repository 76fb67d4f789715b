"""Seed endpoints' bodies and the saga's allocation of nonces."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


@dataclass(frozen=True)
class SeedAllocation:
    """Nonces ``first_nonce`` … ``first_nonce + count - 1`` of one seed pair, for one draw."""

    pair_id: str
    server_seed: bytes
    server_seed_hash: str
    client_seed: str
    first_nonce: int


class SeedsRead(BaseModel):
    """The fan's active pair: the commitment (never the seed), the client seed, the next nonce."""

    server_seed_hash: str
    client_seed: str
    next_nonce: int


class ClientSeedUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # The rule itself (1–64 printable ASCII) is checked by fairness.seeds with a clear message.
    client_seed: str = Field(max_length=256)


class RevealedPair(BaseModel):
    """A rotated-out pair: the server seed revealed, so every draw made with it can be checked."""

    server_seed: str
    server_seed_hash: str
    client_seed: str
    last_nonce: int | None  # None: no slot was drawn with the pair
    created_at: datetime
    revealed_at: datetime


class Rotation(RevealedPair):
    """``POST /me/seeds/rotate``: the revealed old pair and the new pair's commitment."""

    new_server_seed_hash: str
    new_client_seed: str


class RevealedPage(BaseModel):
    items: list[RevealedPair]
    next_cursor: str | None
