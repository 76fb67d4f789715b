"""The ``draw.json`` a fan downloads to check a draw with the standalone verifier.

Its shape is documented in docs/FAIRNESS.md and read by ``fairness/verifier.py``; building it
here keeps what the API hands out and what the verifier reads the same.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from koepon.gacha.fairness.rng import ALGORITHM_VERSION
from koepon.gacha.fairness.seeds import commitment
from koepon.gacha.odds.model import Weight


@dataclass(frozen=True)
class LogProof:
    """A draw's place in the log: its leaf, index, inclusion proof and the signed checkpoint."""

    leaf: str
    leaf_index: int
    tree_size: int
    proof: Sequence[bytes]
    checkpoint: str


@dataclass(frozen=True)
class HistoryProof:
    """An older checkpoint and the consistency proof from it to the proof's checkpoint."""

    checkpoint: str
    proof: Sequence[bytes]


def _b64(hashes: Sequence[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


def verification_bundle(
    *,
    server_seed: bytes,
    client_seed: str,
    tables: Mapping[str, Sequence[Weight]],
    slots: Sequence[Mapping[str, Any]],
    log: LogProof | None = None,
    log_key: str | None = None,
    history: HistoryProof | None = None,
) -> dict[str, Any]:
    """The verifier's input for one draw whose server seed has been revealed."""
    bundle: dict[str, Any] = {
        "algorithm_version": ALGORITHM_VERSION,
        "server_seed": server_seed.hex(),
        "server_seed_hash": commitment(server_seed),
        "client_seed": client_seed,
        "tables": {
            name: [{"item_id": line.item_id, "weight": line.weight} for line in lines]
            for name, lines in tables.items()
        },
        "results": [dict(slot) for slot in slots],
    }
    if log is not None:
        if log_key is None:
            raise ValueError("a log proof is checked with the log's key")
        bundle["proof"] = {
            "leaf_index": log.leaf_index,
            "tree_size": log.tree_size,
            "leaf": log.leaf,
            "proof": _b64(log.proof),
            "checkpoint": log.checkpoint,
        }
        bundle["log_key"] = log_key
        if history is not None:
            bundle["consistency"] = {"checkpoint": history.checkpoint, "proof": _b64(history.proof)}
    return bundle
