"""Which table each slot of a draw uses: pity (天井) state transitions and the guaranteed slot.

Slots are counted one by one: a 10連 is ten draws for the pity counter. The order of precedence
is pity, then the guaranteed slot, then the main table; a box has only its remaining stock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from koepon.gacha.odds.model import GachaConfig, GuaranteedSlot, Pity, Rarity, Weight

TableName = Literal["main", "guaranteed", "pity", "box"]


@dataclass(frozen=True)
class PityState:
    """A fan's progress towards the ceiling of one gacha: draws in a row without the target."""

    draws_without_target: int = 0


def pity_due(pity: Pity | None, state: PityState) -> bool:
    """The next slot is the N-th in a row without the target: it comes from the pity table."""
    return pity is not None and state.draws_without_target >= pity.draws - 1


def advance_pity(pity: Pity | None, state: PityState, drawn: Rarity) -> PityState:
    """The state after one slot: reset by any item of the target rarity or better."""
    if pity is None:
        return state
    if drawn.at_least(pity.min_rarity):
        return PityState(0)
    return PityState(state.draws_without_target + 1)


def guaranteed_slot(
    config: GachaConfig, *, count: int, step: int | None = None
) -> GuaranteedSlot | None:
    """The guaranteed-slot rule of a draw of ``count`` slots (a step-up step has its own)."""
    if step is not None:
        if config.step_up is None or not 0 <= step < len(config.step_up.steps):
            raise ValueError(f"this gacha has no step {step}")
        return config.step_up.steps[step].guaranteed
    if config.multi is not None and count == config.multi.count:
        return config.multi.guaranteed
    return None


def slot_table(
    config: GachaConfig,
    *,
    slot_index: int,
    slot_count: int,
    guaranteed: GuaranteedSlot | None,
    pity_state: PityState,
) -> TableName:
    """The table slot ``slot_index`` (0-based) of a draw of ``slot_count`` slots is drawn from."""
    if config.kind == "box":
        return "box"
    if pity_due(config.pity, pity_state):
        return "pity"
    if guaranteed is not None and slot_index == slot_count - 1:
        return "guaranteed"
    return "main"


def weighted_table(
    config: GachaConfig, name: TableName, guaranteed: GuaranteedSlot | None = None
) -> tuple[Weight, ...]:
    """The lines of a weighted table by name (the box's table is its remaining stock)."""
    if name == "main":
        return config.main
    if name == "pity" and config.pity is not None:
        return config.pity.table
    if name == "guaranteed" and guaranteed is not None:
        return guaranteed.table
    raise ValueError(f"no weighted table {name!r} in this configuration")


def published_tables(config: GachaConfig) -> dict[str, tuple[Weight, ...]]:
    """Every weighted table of an odds version by the name draws record (boxes have none)."""
    tables: dict[str, tuple[Weight, ...]] = {}
    if config.kind == "box":
        return tables
    tables["main"] = config.main
    if config.multi is not None and config.multi.guaranteed is not None:
        tables["guaranteed"] = config.multi.guaranteed.table
    if config.pity is not None:
        tables["pity"] = config.pity.table
    for index, step in enumerate(config.step_up.steps if config.step_up else ()):
        if step.guaranteed is not None:
            tables[f"steps[{index}].guaranteed"] = step.guaranteed.table
    return tables
