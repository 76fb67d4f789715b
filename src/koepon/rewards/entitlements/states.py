"""The states of an entitlement, of a granted slot's source and of a draw (pure)."""

from __future__ import annotations

from enum import StrEnum


class EntitlementStatus(StrEnum):
    LIVE = "live"  # the fan owns it and may download it
    REVOKED = "revoked"  # every grant behind it was reversed (a serial is never reused)


class GrantSource(StrEnum):
    DRAW = "draw"  # a slot of a completed draw (draw id, slot)
    EXCHANGE = "exchange"  # an item bought with exchange points (exchange id, slot 0)


class DrawState(StrEnum):
    GRANTED = "granted"
    REVERSED = "reversed"  # whatever the draw granted is revoked; a later grant is skipped
