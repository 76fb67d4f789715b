"""What the gachas sub-domain answers other sub-domains (teams' public profile, sales)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from koepon.contracts.vtuber import RevenueShare


@dataclass(frozen=True)
class GachaSummary:
    """The VTuber service's copy of one gacha. ``vtuber_id`` is the lead; ``shares`` lists every
    earning VTuber (one 10,000 bp share for a solo gacha), largest share first."""

    gacha_id: str
    vtuber_id: str
    title: str
    kind: str
    status: str
    price_medals: int
    starts_at: datetime | None
    ends_at: datetime | None
    box_stock: int | None
    revision: int
    shares: tuple[RevenueShare, ...]

    def share_of(self, vtuber_id: str) -> int:
        """``vtuber_id``'s share in basis points (0 when not a party)."""
        return next((s.share_bp for s in self.shares if s.vtuber_id == vtuber_id), 0)
