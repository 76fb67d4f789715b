"""Where a gacha stands in its authoring workflow, as the team and the public see it (pure).

draft → submitted → approved | rejected (by an operator) → scheduled → live → ended. The
stored status says what people decided; the phase adds the clock: an approved gacha is
``scheduled`` before its period starts, ``live`` inside it and ``ended`` once it is over, as is
a gacha an operator ended.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

Phase = Literal["draft", "submitted", "rejected", "scheduled", "live", "ended"]
PHASES: tuple[Phase, ...] = ("draft", "submitted", "rejected", "scheduled", "live", "ended")
# Statuses whose phase the clock does not change.
_FIXED: dict[str, Phase] = {
    "draft": "draft",
    "submitted": "submitted",
    "rejected": "rejected",
    "ended": "ended",
}


def phase(
    status: str, starts_at: datetime | None, ends_at: datetime | None, now: datetime
) -> Phase:
    """The phase of a gacha in ``status`` whose period in force (the published version that
    applies now, or before the start the first one) is ``starts_at``…``ends_at`` (None: open
    ended). An approved gacha without a known start counts as scheduled."""
    fixed = _FIXED.get(status)
    if fixed is not None:
        return fixed
    if status != "approved":
        raise ValueError(f"unknown gacha status {status!r}")
    if starts_at is None or now < starts_at:
        return "scheduled"
    if ends_at is not None and now >= ends_at:
        return "ended"
    return "live"
