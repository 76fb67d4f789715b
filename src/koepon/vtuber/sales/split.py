"""Splits a draw's paid yen value among a collab's parties exactly (pure).

Largest remainder (Hamilton): each party gets the floor of its exact part, and the yen left
over go one each to the parties with the largest remainders, ties broken by the larger share,
then by VTuber id. Deterministic, and the parts always sum to the whole.
"""

from __future__ import annotations

from collections.abc import Sequence

from koepon.contracts.vtuber import RevenueShare

WHOLE_BP = 10_000


def split(total_jpy: int, shares: Sequence[RevenueShare]) -> dict[str, int]:
    """``total_jpy`` (≥ 0) split by ``shares`` (> 0 bp each, one per VTuber, summing to 10,000):
    VTuber id → yen, the parts summing to ``total_jpy``."""
    if total_jpy < 0:
        raise ValueError("the total to split must not be negative")
    if sum(s.share_bp for s in shares) != WHOLE_BP or any(s.share_bp <= 0 for s in shares):
        raise ValueError("shares must be positive and sum to 10,000 basis points")
    if len({s.vtuber_id for s in shares}) != len(shares):
        raise ValueError("a VTuber is named twice in the shares")
    parts = {s.vtuber_id: total_jpy * s.share_bp // WHOLE_BP for s in shares}
    left = total_jpy - sum(parts.values())
    # remainder (larger first), share (larger first), VTuber id (smaller first)
    order = sorted(
        shares, key=lambda s: (-(total_jpy * s.share_bp % WHOLE_BP), -s.share_bp, s.vtuber_id)
    )
    for share in order[:left]:  # left < number of parties: each gets at most one more yen
        parts[share.vtuber_id] += 1
    return parts
