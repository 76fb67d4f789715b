"""Where a draw's saga stands (DESIGN.md "The draw").

::

    accepted ──reserve refused──▶ refused            (no medals were held)
       │ reserve + draw
       ▼
     drawn ──post──▶ completed                        (medals spent, items the fan's)
       │ hold gone / rule broken
       ▼
    voiding ──void──▶ voided                          (held medals released)

``accepted`` may also go to ``voiding`` (a rule checked under the fan's lock refused it after
the medals were held). Every move is a compare-and-set on the draw row.
"""

from __future__ import annotations

from enum import StrEnum


class DrawStatus(StrEnum):
    ACCEPTED = "accepted"
    DRAWN = "drawn"
    COMPLETED = "completed"
    REFUSED = "refused"
    VOIDING = "voiding"
    VOIDED = "voided"

    @property
    def final(self) -> bool:
        return self in FINAL


FINAL = frozenset({DrawStatus.COMPLETED, DrawStatus.REFUSED, DrawStatus.VOIDED})
# What the recovery sweeper takes over when a worker left it untouched for a while.
UNFINISHED = (DrawStatus.ACCEPTED, DrawStatus.DRAWN, DrawStatus.VOIDING)


def transfer_id(draw_id: str) -> str:
    """The ledger transfer that holds and then spends a draw's medals (idempotent on it)."""
    return f"draw-{draw_id}"


# The HTTP status a draw that ended without items is answered with, by its refusal's code.
ENDED_STATUS: dict[str, int] = {
    "insufficient_medals": 402,
    "wallet_locked": 423,
    "draw_limit_reached": 403,
    "draw_cap_exceeded": 403,
    "cooling_off_active": 403,
    "box_sold_out": 409,
    "gacha_not_live": 409,
    "gacha_not_found": 404,
    "hold_expired": 409,
    "payment_unavailable": 503,
}


def ended_status(code: str | None) -> int:
    return ENDED_STATUS.get(code or "", 409)
