"""The outcome of a draw as a pure function of the configuration, the fan's seeds and state.

Because a draw is a function of (configuration, server seed, client seed, first nonce, pity
state, box stock), a retried saga computes exactly the same result (DESIGN.md "The draw").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from koepon.gacha.errors import BoxSoldOut
from koepon.gacha.fairness.rng import draw_slot
from koepon.gacha.odds.model import GachaConfig, Rarity
from koepon.gacha.odds.slots import (
    PityState,
    TableName,
    advance_pity,
    guaranteed_slot,
    slot_table,
    weighted_table,
)


@dataclass(frozen=True)
class SlotOutcome:
    """One drawn slot as it is stored: nonce, table, outcome, and a box's weights at the time."""

    nonce: int
    table: str  # "main", "guaranteed", "pity", "box" or "steps[i].guaranteed"
    item_id: str
    rarity: Rarity
    weights: tuple[tuple[str, int], ...] | None = None

    def as_record(self) -> dict[str, Any]:
        """The slot as stored, logged and shown (API.md results; box weights included)."""
        record: dict[str, Any] = {
            "nonce": self.nonce,
            "table": self.table,
            "item_id": self.item_id,
            "rarity": self.rarity.value,
        }
        if self.weights is not None:
            record["weights"] = [{"item_id": i, "weight": w} for i, w in self.weights]
        return record


@dataclass(frozen=True)
class DrawOutcome:
    slots: tuple[SlotOutcome, ...]
    pity_state: PityState
    box_remaining: tuple[tuple[str, int], ...] | None
    next_nonce: int


def _recorded(table: TableName, step: int | None) -> str:
    """The table's name as recorded: a step-up step's guaranteed table is its own."""
    return f"steps[{step}].guaranteed" if table == "guaranteed" and step is not None else table


def full_box(config: GachaConfig) -> tuple[tuple[str, int], ...]:
    return tuple((line.item_id, line.count) for line in config.box)


def draw(
    config: GachaConfig,
    *,
    count: int,
    server_seed: bytes,
    client_seed: str,
    first_nonce: int,
    pity_state: PityState = PityState(),
    box_remaining: Mapping[str, int] | None = None,
    step: int | None = None,
) -> DrawOutcome:
    """Draw ``count`` slots with nonces ``first_nonce``, ``first_nonce + 1``, …"""
    if count < 1:
        raise ValueError("a draw has at least one slot")
    guaranteed = guaranteed_slot(config, count=count, step=step)
    if (
        step is not None
        and config.step_up is not None
        and config.step_up.steps[step].count != count
    ):
        raise ValueError(f"step {step} draws {config.step_up.steps[step].count} slots")
    remaining: list[tuple[str, int]] | None = None
    if config.kind == "box":
        stock = dict(full_box(config)) if box_remaining is None else dict(box_remaining)
        strangers = set(stock) - {line.item_id for line in config.box}
        if strangers:
            raise ValueError(f"not in this box: {sorted(strangers)}")
        remaining = [(line.item_id, stock.get(line.item_id, 0)) for line in config.box]
        left = sum(n for _, n in remaining)
        if left < count:
            raise BoxSoldOut(f"the box holds {left} items; {count} were asked for", remaining=left)
    slots: list[SlotOutcome] = []
    state = pity_state
    for index in range(count):
        nonce = first_nonce + index
        table = slot_table(
            config, slot_index=index, slot_count=count, guaranteed=guaranteed, pity_state=state
        )
        if remaining is not None:
            weights = tuple(remaining)
            chosen = draw_slot(server_seed, client_seed, nonce, [n for _, n in weights])
            item_id = weights[chosen][0]
            remaining[chosen] = (item_id, remaining[chosen][1] - 1)
            stored: tuple[tuple[str, int], ...] | None = weights
        else:
            lines = weighted_table(config, table, guaranteed)
            chosen = draw_slot(server_seed, client_seed, nonce, [line.weight for line in lines])
            item_id = lines[chosen].item_id
            stored = None
        rarity = config.rarity_of(item_id)
        slots.append(SlotOutcome(nonce, _recorded(table, step), item_id, rarity, stored))
        state = advance_pity(config.pity, state, rarity)
    return DrawOutcome(
        slots=tuple(slots),
        pity_state=state,
        box_remaining=None if remaining is None else tuple(remaining),
        next_nonce=first_nonce + count,
    )
