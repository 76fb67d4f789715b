"""The draw log's leaves: a draw record as canonical JSON, the exact bytes that are hashed.

Canonical JSON here is UTF-8, keys sorted, no spaces, no floats (every number is an integer),
so anyone can rebuild the bytes from the record and check the leaf hash.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any


def canonical_json(value: Mapping[str, Any]) -> str:
    _no_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _no_floats(value: Any) -> None:
    if isinstance(value, float):
        raise ValueError("a log record holds no floating-point numbers")
    if isinstance(value, Mapping):
        for inner in value.values():
            _no_floats(inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            _no_floats(inner)


def draw_record(
    *,
    draw_id: str,
    gacha_id: str,
    odds_version: int,
    server_seed_hash: str,
    client_seed: str,
    slots: Sequence[Mapping[str, Any]],
    drawn_at: datetime,
) -> dict[str, Any]:
    """The record of one draw (API.md ``GET /draws/{id}/proof``'s ``leaf``)."""
    return {
        "draw_id": draw_id,
        "gacha_id": gacha_id,
        "odds_version": odds_version,
        "server_seed_hash": server_seed_hash,
        "client_seed": client_seed,
        "slots": [dict(slot) for slot in slots],
        "drawn_at": drawn_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }


def leaf_bytes(record: Mapping[str, Any]) -> bytes:
    return canonical_json(record).encode("utf-8")
