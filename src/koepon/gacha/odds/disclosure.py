"""The disclosure shown before purchase (COMPLIANCE G6) with expected costs (G7).

Every obtainable item with its rate in percent to 4 decimals (truncated), rarity totals per
table, the guaranteed-slot and pity tables, exchange offers, the period and the prices.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from koepon.gacha.odds.exchange import draws_to_exchange
from koepon.gacha.odds.model import GachaConfig, Rarity, Weight
from koepon.gacha.odds.rates import (
    PERCENT_NOTICE,
    cost_is_flagged,
    expected_cost,
    line_rates,
    percent_truncated,
    rarity_totals,
    rate_ppm,
    round_up,
)


@dataclass(frozen=True)
class DisclosedLine:
    item_id: str
    content_id: str
    name: str
    rarity: Rarity
    weight: int
    rate_ppm: int
    percent: str
    expected_cost_medals: int | None
    expected_cost_jpy: int | None
    cost_flagged: bool
    remaining: int | None = None  # boxes: what is left now
    total: int | None = None  # boxes: what a full box holds


@dataclass(frozen=True)
class RarityTotal:
    rarity: Rarity
    rate_ppm: int
    percent: str


@dataclass(frozen=True)
class DisclosedTable:
    name: str
    lines: tuple[DisclosedLine, ...]
    rarity_totals: tuple[RarityTotal, ...]


@dataclass(frozen=True)
class DisclosedStep:
    """One step of a step-up as shown: slots, price, and its guaranteed table if any."""

    count: int
    price_medals: int
    price_jpy: int
    guaranteed_min_rarity: Rarity | None
    guaranteed_table: str | None


@dataclass(frozen=True)
class Disclosure:
    kind: str
    price_medals: int
    price_jpy: int
    starts_at: datetime
    ends_at: datetime | None
    tables: tuple[DisclosedTable, ...]
    multi_count: int | None
    multi_price_medals: int | None
    multi_price_jpy: int | None
    guaranteed_min_rarity: Rarity | None
    pity_draws: int | None
    pity_min_rarity: Rarity | None
    exchange_points_per_paid_draw: int | None
    exchange_offers: tuple[tuple[str, int], ...]
    max_draws_per_fan: int | None
    max_draws_per_fan_per_day: int | None
    steps: tuple[DisclosedStep, ...] = ()
    steps_repeat: bool = False
    notice: str = PERCENT_NOTICE

    @property
    def cost_flagged(self) -> bool:
        """G7: some item's expected cost is high enough to be flagged and shown prominently."""
        return any(line.cost_flagged for table in self.tables for line in table.lines)

    def table(self, name: str) -> DisclosedTable | None:
        return next((t for t in self.tables if t.name == name), None)


def _ceiling_for(config: GachaConfig, item_id: str) -> int | None:
    """Draws after which the item is certain: a one-item pity table or the exchange."""
    ceilings = []
    if config.pity is not None and [w.item_id for w in config.pity.table] == [item_id]:
        ceilings.append(config.pity.draws)
    exchange = draws_to_exchange(item_id, config.exchange)
    if exchange is not None:
        ceilings.append(exchange)
    return min(ceilings) if ceilings else None


CostRule = Callable[[str, Fraction], tuple[Fraction, Fraction] | None]


def _single_draw_costs(config: GachaConfig) -> CostRule:
    """Main-table items: single draws until the item (or a ceiling that hands it over)."""

    def cost(item_id: str, p: Fraction) -> tuple[Fraction, Fraction]:
        ceiling = _ceiling_for(config, item_id)
        return (
            expected_cost(config.price_medals, p, ceiling),
            expected_cost(config.price_jpy, p, ceiling),
        )

    return cost


def _multi_draw_costs(config: GachaConfig, count: int, medals: int, jpy: int) -> CostRule:
    """Guaranteed-table items: multi-draws until one holds the item in any of its slots."""
    main_total = sum(w.weight for w in config.main)

    def cost(item_id: str, p_guaranteed: Fraction) -> tuple[Fraction, Fraction]:
        weight = sum(w.weight for w in config.main if w.item_id == item_id)
        p_main = Fraction(weight, main_total) if main_total else Fraction(0)
        per_draw = 1 - (1 - p_main) ** (count - 1) * (1 - p_guaranteed)
        return expected_cost(medals, per_draw), expected_cost(jpy, per_draw)

    return cost


def _weighted(
    config: GachaConfig, name: str, table: tuple[Weight, ...], cost: CostRule | None
) -> DisclosedTable:
    lines = line_rates([(w.item_id, config.rarity_of(w.item_id), w.weight) for w in table])
    disclosed = []
    for line in lines:
        item = config.item(line.item_id)
        figures = cost(line.item_id, line.rate) if cost is not None and line.rate > 0 else None
        disclosed.append(
            DisclosedLine(
                item_id=line.item_id,
                content_id=item.content_id if item else "",
                name=item.name if item else "",
                rarity=line.rarity,
                weight=line.weight,
                rate_ppm=line.rate_ppm,
                percent=line.percent,
                expected_cost_medals=round_up(figures[0]) if figures else None,
                expected_cost_jpy=round_up(figures[1]) if figures else None,
                cost_flagged=figures is not None and cost_is_flagged(figures[1], config.price_jpy),
            )
        )
    return DisclosedTable(name, tuple(disclosed), _totals([(x.rarity, x.weight) for x in lines]))


def _totals(lines: list[tuple[Rarity, int]]) -> tuple[RarityTotal, ...]:
    total = sum(weight for _, weight in lines)
    return tuple(
        RarityTotal(rarity, rate_ppm(weight, total), percent_truncated(weight, total))
        for rarity, weight in rarity_totals(lines).items()
    )


def _box(config: GachaConfig, remaining: Mapping[str, int] | None) -> DisclosedTable:
    stock = {b.item_id: b.count for b in config.box} if remaining is None else dict(remaining)
    left = sum(stock.get(b.item_id, 0) for b in config.box)
    lines = []
    for b in config.box:
        item = config.item(b.item_id)
        have = stock.get(b.item_id, 0)
        medals = jpy = None
        flagged = False
        if have > 0:
            # Drawing without replacement, a given item with c copies among T turns up after
            # (T + 1) / (c + 1) draws on average.
            draws = Fraction(left + 1, have + 1)
            jpy_cost = config.price_jpy * draws
            medals, jpy = round_up(config.price_medals * draws), round_up(jpy_cost)
            flagged = cost_is_flagged(jpy_cost, config.price_jpy)
        lines.append(
            DisclosedLine(
                item_id=b.item_id,
                content_id=item.content_id if item else "",
                name=item.name if item else "",
                rarity=config.rarity_of(b.item_id),
                weight=have,
                rate_ppm=rate_ppm(have, left) if left else 0,
                percent=percent_truncated(have, left) if left else "0.0000",
                expected_cost_medals=medals,
                expected_cost_jpy=jpy,
                cost_flagged=flagged,
                remaining=have,
                total=b.count,
            )
        )
    totals = _totals([(line.rarity, line.weight) for line in lines]) if left else ()
    return DisclosedTable("box", tuple(lines), totals)


def disclose(config: GachaConfig, *, box_remaining: Mapping[str, int] | None = None) -> Disclosure:
    """The full disclosure of a (validated) configuration; a box shows its stock right now."""
    tables: list[DisclosedTable] = []
    if config.kind == "box":
        tables.append(_box(config, box_remaining))
    else:
        tables.append(_weighted(config, "main", config.main, _single_draw_costs(config)))
        multi = config.multi
        if multi is not None and multi.guaranteed is not None:
            costs = _multi_draw_costs(config, multi.count, multi.price_medals, multi.price_jpy)
            tables.append(_weighted(config, "guaranteed", multi.guaranteed.table, costs))
        if config.pity is not None:
            tables.append(_weighted(config, "pity", config.pity.table, None))
    steps: list[DisclosedStep] = []
    for index, step in enumerate(config.step_up.steps if config.step_up else ()):
        name = None
        if step.guaranteed is not None:
            name = f"steps[{index}].guaranteed"
            costs = _multi_draw_costs(config, step.count, step.price_medals, step.price_jpy)
            tables.append(_weighted(config, name, step.guaranteed.table, costs))
        minimum = step.guaranteed.min_rarity if step.guaranteed else None
        steps.append(DisclosedStep(step.count, step.price_medals, step.price_jpy, minimum, name))
    exchange = config.exchange
    return Disclosure(
        kind=config.kind,
        price_medals=config.price_medals,
        price_jpy=config.price_jpy,
        starts_at=config.period.starts_at,
        ends_at=config.period.ends_at,
        tables=tuple(tables),
        multi_count=config.multi.count if config.multi else None,
        multi_price_medals=config.multi.price_medals if config.multi else None,
        multi_price_jpy=config.multi.price_jpy if config.multi else None,
        guaranteed_min_rarity=(
            config.multi.guaranteed.min_rarity if config.multi and config.multi.guaranteed else None
        ),
        pity_draws=config.pity.draws if config.pity else None,
        pity_min_rarity=config.pity.min_rarity if config.pity else None,
        exchange_points_per_paid_draw=exchange.points_per_paid_draw if exchange else None,
        exchange_offers=tuple((o.item_id, o.cost_points) for o in exchange.offers)
        if exchange
        else (),
        max_draws_per_fan=config.limits.max_draws,
        max_draws_per_fan_per_day=config.limits.max_draws_per_day,
        steps=tuple(steps),
        steps_repeat=config.step_up.repeat if config.step_up else False,
    )
