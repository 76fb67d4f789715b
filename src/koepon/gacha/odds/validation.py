"""The law on a gacha configuration: every COMPLIANCE G-rule it breaks, each with its id.

``validate_configuration`` takes the raw JSON a VTuber submits, so that an attempt to express
a set-completion reward (G1) or an unknown mechanic (G2) is refused by name instead of being
ignored; ``check_configuration`` checks an already parsed configuration.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

from pydantic import ValidationError

from koepon.gacha.odds.disclosure import Disclosure, disclose
from koepon.gacha.odds.model import MAX_TABLE_TOTAL, GachaConfig, Rarity, Weight
from koepon.gacha.odds.violations import SCHEMA, Violation
from koepon.kernel.money import ceil_div

# Words that name a reward for holding a combination of different items (コンプガチャ). Keys
# and mechanic names are matched; free text such as an item's name is not.
_G1_WORDS = (
    "complet", "collect", "compgacha", "comp_gacha", "kompu", "konpu", "set_bonus", "full_set",
    "all_items", "card_match", "achievement", "mission", "trophy", "combo", "コンプ", "揃",
    "カード合わせ", "全種",
)  # fmt: skip
_MECHANIC_KEYS = ("kind", "type", "condition", "trigger", "mechanic", "reward", "grants", "unlock")
_BLANK_WORDS = ("nothing", "hazure", "blank", "empty", "none", "ハズレ", "はずれ", "なし", "空")
_ALLOWED = frozenset(GachaConfig.model_fields)
# The most draws after which a pity table or the exchange hands an item over, and the most slots
# of one step-up step (a 10連 has ten). Beyond them a configuration is nonsense, and its expected
# cost, (1 − p)^N in exact fractions, would take the disclosure hours to compute.
MAX_CEILING_DRAWS = 1000
MAX_STEP_SLOTS = 10


def _is_g1(word: str) -> bool:
    lowered = word.lower()
    return any(w in lowered for w in _G1_WORDS)


def _walk(value: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) for every mapping entry inside ``value``."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            here = f"{path}.{key}" if path else str(key)
            yield here, str(key), inner
            yield from _walk(inner, here)
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            yield from _walk(inner, f"{path}[{index}]")


def set_completion_attempts(raw: Mapping[str, Any]) -> list[Violation]:
    """G1: every field or mechanic in the raw input that tries to reward a completed set."""
    found = []
    for path, key, value in _walk(raw, ""):
        named = _is_g1(key) or (key in _MECHANIC_KEYS and isinstance(value, str) and _is_g1(value))
        if named:
            found.append(
                Violation(
                    "G1",
                    path,
                    "rewards for collecting a set of different items (コンプガチャ) are "
                    "prohibited; the configuration cannot express them",
                )
            )
    return found


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validate_configuration(
    raw: Mapping[str, Any], *, known_content_ids: Collection[str] | None = None
) -> tuple[GachaConfig | None, list[Violation]]:
    """Parse and check a submitted configuration: (the config if it parses, every violation)."""
    violations = set_completion_attempts(raw)
    g1_paths = {v.path for v in violations}
    for key in raw:
        if key not in _ALLOWED and str(key) not in g1_paths:
            violations.append(
                Violation("G2", str(key), f"{key!r} is not one of the allowed mechanics")
            )
    try:
        config = GachaConfig.model_validate({k: v for k, v in raw.items() if k in _ALLOWED})
    except ValidationError as error:
        for problem in error.errors():
            path = _loc(problem["loc"])
            if path not in g1_paths:
                violations.append(Violation(SCHEMA, path, problem["msg"]))
        return None, violations
    violations.extend(check_configuration(config, known_content_ids=known_content_ids))
    return config, violations


def check_configuration(
    config: GachaConfig, *, known_content_ids: Collection[str] | None = None
) -> list[Violation]:
    """Every rule a parsed configuration breaks (refusals) or trips (G7 flags)."""
    found = [
        *_mechanics(config),
        *_items(config, known_content_ids),
        *_stock(config),
        *_tables(config),
        *_prices_and_period(config),
    ]
    # Disclosure (G6) and expected costs (G7) are computed only from an otherwise sound
    # configuration: a broken table has no rates to show.
    if not found:
        disclosure = disclose(config)
        found.extend(check_disclosure(config, disclosure))
        found.extend(_expected_costs(disclosure))
    return found


def _mechanics(config: GachaConfig) -> Iterator[Violation]:
    """G2: only the allowed mechanics, each in a shape that can be shown before purchase."""
    if config.kind == "weighted":
        if not config.main:
            yield Violation("G2", "main", "a weighted gacha needs its main table")
        if config.box:
            yield Violation("G2", "box", "a weighted gacha has no box")
    else:
        if not config.box:
            yield Violation("G2", "box", "a box gacha needs the contents of its box")
        for name, present in (
            ("main", bool(config.main)),
            ("pity", config.pity is not None),
            ("multi.guaranteed", config.multi is not None and config.multi.guaranteed is not None),
            ("step_up", config.step_up is not None),
        ):
            if present:
                yield Violation("G2", name, "a box gacha draws only from its remaining stock")
    if config.pity is not None:
        if not 1 <= config.pity.draws <= MAX_CEILING_DRAWS:
            yield Violation(
                "G2", "pity.draws", f"a ceiling is between 1 and {MAX_CEILING_DRAWS} draws"
            )
        yield from _restricted(config, config.pity.table, config.pity.min_rarity, "pity")
    if config.multi is not None and config.multi.guaranteed is not None:
        guaranteed = config.multi.guaranteed
        yield from _restricted(config, guaranteed.table, guaranteed.min_rarity, "multi.guaranteed")
    if config.exchange is not None:
        if config.exchange.points_per_paid_draw <= 0:
            yield Violation("G2", "exchange.points_per_paid_draw", "each paid draw earns points")
        if not config.exchange.offers:
            yield Violation("G2", "exchange.offers", "an exchange offers at least one item")
        limited = {item.item_id for item in config.items if item.stock is not None}
        for i, offer in enumerate(config.exchange.offers):
            if offer.cost_points <= 0:
                yield Violation("G2", f"exchange.offers[{i}].cost_points", "costs are positive")
            elif (
                config.exchange.points_per_paid_draw > 0
                and ceil_div(offer.cost_points, config.exchange.points_per_paid_draw)
                > MAX_CEILING_DRAWS
            ):
                yield Violation(
                    "G2",
                    f"exchange.offers[{i}].cost_points",
                    f"an item costs the points of at most {MAX_CEILING_DRAWS} paid draws",
                )
            if offer.item_id in limited:
                # A serial-numbered copy comes only out of its box (G5), never for points.
                yield Violation(
                    "G5",
                    f"exchange.offers[{i}].item_id",
                    f"{offer.item_id} is stock-limited: it is won from the box, not exchanged",
                )
    if config.step_up is not None:
        if not config.step_up.steps:
            yield Violation("G2", "step_up.steps", "a step-up has at least one step")
        for i, step in enumerate(config.step_up.steps):
            if (
                not 1 <= step.count <= MAX_STEP_SLOTS
                or step.price_medals <= 0
                or step.price_jpy <= 0
            ):
                yield Violation(
                    "G2",
                    f"step_up.steps[{i}]",
                    f"each step has 1 to {MAX_STEP_SLOTS} slots and a positive price",
                )
            if step.guaranteed is not None:
                path = f"step_up.steps[{i}].guaranteed"
                yield from _restricted(
                    config, step.guaranteed.table, step.guaranteed.min_rarity, path
                )
    for name in ("max_draws", "max_draws_per_day"):
        limit = getattr(config.limits, name)
        if limit is not None and limit < 1:
            yield Violation("G2", f"limits.{name}", "a per-fan limit allows at least one draw")


def _restricted(
    config: GachaConfig, table: tuple[Weight, ...], minimum: Rarity, path: str
) -> Iterator[Violation]:
    """G3: a guarantee holds exactly as shown — its table has nothing below the rarity named."""
    for i, line in enumerate(table):
        item = config.item(line.item_id)
        if item is not None and not item.rarity.at_least(minimum):
            yield Violation(
                "G3",
                f"{path}.table[{i}]",
                f"{line.item_id} is {item.rarity}, below the guaranteed {minimum}",
            )


def _items(config: GachaConfig, known: Collection[str] | None) -> Iterator[Violation]:
    """G8: every line is a real item of real content; nothing is a blank."""
    ids = [item.item_id for item in config.items]
    for i, item in enumerate(config.items):
        if ids.index(item.item_id) != i:
            yield Violation(SCHEMA, f"items[{i}].item_id", f"{item.item_id} is listed twice")
        if not item.content_id.strip():
            yield Violation("G8", f"items[{i}].content_id", "every item is a piece of content")
        elif known is not None and item.content_id not in known:
            yield Violation(
                "G8", f"items[{i}].content_id", f"content {item.content_id} does not exist"
            )
        words = (item.item_id.lower(), item.name.strip().lower(), item.content_id.lower())
        if any(word in _BLANK_WORDS for word in words):
            yield Violation("G8", f"items[{i}]", "a draw never yields nothing (no blanks)")
    declared = set(ids)
    for path, lines in _all_lines(config):
        for i, (item_id, amount) in enumerate(lines):
            if item_id not in declared:
                yield Violation("G8", f"{path}[{i}].item_id", f"{item_id} is not an item")
            if amount <= 0:
                yield Violation("G8", f"{path}[{i}]", "every line has a positive weight or count")
    if config.exchange is not None:
        for i, offer in enumerate(config.exchange.offers):
            if offer.item_id not in declared:
                yield Violation(
                    "G8", f"exchange.offers[{i}].item_id", f"{offer.item_id} is not an item"
                )


def _all_lines(config: GachaConfig) -> Iterator[tuple[str, list[tuple[str, int]]]]:
    yield "main", [(w.item_id, w.weight) for w in config.main]
    yield "box", [(b.item_id, b.count) for b in config.box]
    if config.pity is not None:
        yield "pity.table", [(w.item_id, w.weight) for w in config.pity.table]
    if config.multi is not None and config.multi.guaranteed is not None:
        yield (
            "multi.guaranteed.table",
            [(w.item_id, w.weight) for w in config.multi.guaranteed.table],
        )
    if config.step_up is not None:
        for s, step in enumerate(config.step_up.steps):
            if step.guaranteed is not None:
                lines = [(w.item_id, w.weight) for w in step.guaranteed.table]
                yield f"step_up.steps[{s}].guaranteed.table", lines


def _stock(config: GachaConfig) -> Iterator[Violation]:
    """G5: limited stock only in a box, where the stock is the item's count in the box."""
    counts = {b.item_id: b.count for b in config.box}
    for i, item in enumerate(config.items):
        if item.stock is None:
            continue
        if config.kind == "weighted":
            yield Violation(
                "G5",
                f"items[{i}].stock",
                "a weighted gacha cannot hold stock-limited items (running out would change "
                "the odds); use a box gacha",
            )
        elif counts.get(item.item_id) != item.stock:
            yield Violation("G5", f"items[{i}].stock", "a box item's stock is its count in the box")


def _tables(config: GachaConfig) -> Iterator[Violation]:
    """G3: each table is integer weights summing to a whole W with 1 ≤ W ≤ 2³², no line twice."""
    for path, lines in _all_lines(config):
        if not lines:
            continue
        total = sum(amount for _, amount in lines)
        if not 1 <= total <= MAX_TABLE_TOTAL:
            yield Violation("G3", path, f"the weights sum to {total}; it must be 1 to 2^32")
        seen: set[str] = set()
        for i, (item_id, _) in enumerate(lines):
            if item_id in seen:
                yield Violation("G3", f"{path}[{i}]", f"{item_id} appears twice in one table")
            seen.add(item_id)


def _prices_and_period(config: GachaConfig) -> Iterator[Violation]:
    """G6: prices in medals and tax-included yen, and a period, shown before purchase."""
    if config.price_medals <= 0 or config.price_jpy <= 0:
        yield Violation("G6", "price_medals", "a draw has a positive price in medals and yen")
    if config.multi is not None and (config.multi.price_medals <= 0 or config.multi.price_jpy <= 0):
        yield Violation("G6", "multi", "a 10連 has a positive price in medals and yen")
    ends = config.period.ends_at
    if ends is not None and ends <= config.period.starts_at:
        yield Violation("G6", "period.ends_at", "the period ends after it starts")


def check_disclosure(config: GachaConfig, disclosure: Disclosure) -> list[Violation]:
    """G6: the disclosure lists every obtainable item with a rate, per table, with totals."""
    found: list[Violation] = []
    expected: dict[str, set[str]] = {"box" if config.kind == "box" else "main": set()}
    if config.kind == "box":
        expected["box"] = {b.item_id for b in config.box}
    else:
        expected["main"] = {w.item_id for w in config.main}
        if config.multi is not None and config.multi.guaranteed is not None:
            expected["guaranteed"] = {w.item_id for w in config.multi.guaranteed.table}
        if config.pity is not None:
            expected["pity"] = {w.item_id for w in config.pity.table}
        for index, step in enumerate(config.step_up.steps if config.step_up else ()):
            if step.guaranteed is not None:
                expected[f"steps[{index}].guaranteed"] = {w.item_id for w in step.guaranteed.table}
    for name, item_ids in expected.items():
        table = disclosure.table(name)
        if table is None:
            found.append(Violation("G6", f"tables.{name}", f"the {name} table is not disclosed"))
            continue
        shown = {line.item_id for line in table.lines if line.percent}
        for item_id in sorted(item_ids - shown):
            found.append(Violation("G6", f"tables.{name}", f"{item_id} is not disclosed"))
        if item_ids and not table.rarity_totals:
            found.append(Violation("G6", f"tables.{name}", "rarity totals are not disclosed"))
    obtainable = set().union(*expected.values())
    if config.exchange is not None:
        obtainable |= {o.item_id for o in config.exchange.offers}
    for i, item in enumerate(config.items):
        if item.item_id not in obtainable:
            found.append(
                Violation("G6", f"items[{i}]", f"{item.item_id} is shown but cannot be obtained")
            )
    if config.pity is not None and disclosure.pity_draws != config.pity.draws:
        found.append(Violation("G6", "pity", "the ceiling is not disclosed"))
    if config.exchange is not None and not disclosure.exchange_offers:
        found.append(Violation("G6", "exchange", "the exchange offers are not disclosed"))
    if config.step_up is not None and len(disclosure.steps) != len(config.step_up.steps):
        found.append(Violation("G6", "step_up", "every step's price and odds are disclosed"))
    return found


def _expected_costs(disclosure: Disclosure) -> Iterator[Violation]:
    """G7: an expected cost above 100× a draw or ¥50,000 is flagged (not refused)."""
    for table in disclosure.tables:
        for line in table.lines:
            if line.cost_flagged:
                yield Violation(
                    "G7",
                    f"tables.{table.name}.{line.item_id}",
                    f"expected cost ¥{line.expected_cost_jpy:,} to obtain {line.item_id}",
                    severity="flag",
                )
