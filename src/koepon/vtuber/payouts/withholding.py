"""Withholding tax (源泉徴収, COMPLIANCE R2) on royalties paid to individuals: integer yen only.

The National Tax Agency's rule for 報酬・料金 such as 著作権の使用料 (所得税法 204条 1項 1号, with
the 2.1% 復興特別所得税 included): on one payment of ``amount`` yen,

- ``amount ≤ 1,000,000``: ``floor(amount × 10.21%)``;
- above: ``floor((amount − 1,000,000) × 20.42%) + 102,100`` (102,100 = 1,000,000 × 10.21%).

Fractions of a yen are dropped (1円未満切捨て). Corporations are not withheld from (a royalty
paid to a 内国法人 is outside 204条), and nothing is withheld from nothing.
"""

from __future__ import annotations

from typing import Literal

EntityType = Literal["individual", "corporation"]

THRESHOLD_JPY = 1_000_000
# Rates as exact fractions: 10.21% = 1021/10000, 20.42% = 2042/10000.
RATE_UP_TO_THRESHOLD = (1021, 10_000)
RATE_ABOVE_THRESHOLD = (2042, 10_000)
TAX_AT_THRESHOLD_JPY = THRESHOLD_JPY * RATE_UP_TO_THRESHOLD[0] // RATE_UP_TO_THRESHOLD[1]


def withholding_jpy(amount_jpy: int, entity_type: EntityType | str) -> int:
    """Tax to withhold from one payment of ``amount_jpy`` yen to a VTuber of ``entity_type``."""
    if entity_type not in ("individual", "corporation"):
        raise ValueError(f"unknown entity type {entity_type!r}")
    if entity_type == "corporation" or amount_jpy <= 0:
        return 0
    if amount_jpy <= THRESHOLD_JPY:
        numerator, denominator = RATE_UP_TO_THRESHOLD
        return amount_jpy * numerator // denominator
    numerator, denominator = RATE_ABOVE_THRESHOLD
    return (amount_jpy - THRESHOLD_JPY) * numerator // denominator + TAX_AT_THRESHOLD_JPY
