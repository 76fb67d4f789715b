"""The states of a medal spend (``medal_spends.status``) and the kinds of medals."""

from __future__ import annotations

from enum import StrEnum

from koepon.contracts.payment import MedalKind as MedalKind  # re-exported for the wallet

KIND_NAMES: tuple[MedalKind, MedalKind] = ("paid", "free")


class SpendStatus(StrEnum):
    """``pending``: medals held until posted, voided or timed out; ``posted``: spent for good;
    ``voided``: released back to their lots."""

    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"
