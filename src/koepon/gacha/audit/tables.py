"""Audit one weighted table of a gacha from its recorded slots, per rarity tier or per item.

Only slots drawn from that table count (a 10連's guaranteed slot is audited against the
guaranteed table, not the main one). Boxes are not audited this way: their odds change with
every draw, and an emptied box holds exactly what was declared.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from koepon.gacha.audit.statistics import AuditReport, audit
from koepon.gacha.odds.model import GachaConfig
from koepon.gacha.odds.rates import rarity_totals
from koepon.gacha.odds.slots import published_tables


def audit_table(
    config: GachaConfig,
    slots: Iterable[Mapping[str, Any]],
    *,
    table: str = "main",
    by: Literal["rarity", "item"] = "rarity",
) -> AuditReport:
    """Declared vs observed for ``table``, from slot records (``SlotOutcome.as_record()``)."""
    lines = published_tables(config).get(table)
    if lines is None:
        raise ValueError(f"this gacha has no weighted table {table!r}")
    drawn = [slot for slot in slots if slot["table"] == table]
    if by == "rarity":
        totals = rarity_totals((config.rarity_of(line.item_id), line.weight) for line in lines)
        declared = {rarity.value: weight for rarity, weight in totals.items()}
        observed = Counter(config.rarity_of(slot["item_id"]).value for slot in drawn)
    else:
        declared = {line.item_id: line.weight for line in lines}
        observed = Counter(str(slot["item_id"]) for slot in drawn)
    return audit(declared, dict(observed))
