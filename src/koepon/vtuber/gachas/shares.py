"""Who earns from a gacha: the parties' revenue shares in basis points, summing to the whole."""

from __future__ import annotations

from collections.abc import Sequence

from koepon.contracts.vtuber import RevenueShare

WHOLE_BP = 10_000  # basis points of the whole
MAX_VTUBER_ID_CHARS = 36  # VTuber ids are stored in 36-character columns


class SharesInvalid(ValueError):
    """The shares cannot be a gacha's parties (they never will be: the event is rejected)."""


def parties(lead: str, shares: Sequence[RevenueShare]) -> tuple[RevenueShare, ...]:
    """The earning VTubers of a gacha led by ``lead``: all to the lead when ``shares`` is empty;
    otherwise the shares, each 1–10,000 bp, one per VTuber, summing to exactly 10,000. Ordered by
    share (largest first) then VTuber id, so every reader sees the same order."""
    if not shares:
        return (RevenueShare(vtuber_id=check_vtuber_id(lead), share_bp=WHOLE_BP),)
    seen: set[str] = set()
    for share in shares:
        check_vtuber_id(share.vtuber_id)
        if share.vtuber_id in seen:
            raise SharesInvalid(f"shares: VTuber {share.vtuber_id} is named twice")
        seen.add(share.vtuber_id)
        if not 0 < share.share_bp <= WHOLE_BP:
            raise SharesInvalid(f"shares: a share is 1 to {WHOLE_BP} basis points")
    total = sum(share.share_bp for share in shares)
    if total != WHOLE_BP:
        raise SharesInvalid(f"shares: they sum to {total} basis points, not {WHOLE_BP}")
    return tuple(sorted(shares, key=by_share))


def by_share(share: RevenueShare) -> tuple[int, str]:
    """The parties' order: largest share first, then by VTuber id."""
    return (-share.share_bp, share.vtuber_id)


def check_vtuber_id(vtuber_id: str) -> str:
    if not vtuber_id or len(vtuber_id) > MAX_VTUBER_ID_CHARS or "\x00" in vtuber_id:
        raise SharesInvalid(
            f"vtuber_id: an id of 1 to {MAX_VTUBER_ID_CHARS} characters without NUL is required"
        )
    return vtuber_id
