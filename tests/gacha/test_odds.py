"""Odds arithmetic, disclosure, pity, guaranteed slots, exchange points and box draws."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gacha import samples
from koepon.gacha.draws.outcomes import draw, full_box
from koepon.gacha.errors import BoxSoldOut, DrawLimitReached, ExchangeRefused
from koepon.gacha.odds import exchange
from koepon.gacha.odds.disclosure import disclose
from koepon.gacha.odds.limits import check_draw_limits, draws_left
from koepon.gacha.odds.model import FanLimits, Rarity
from koepon.gacha.odds.rates import (
    PERCENT_NOTICE,
    cost_is_flagged,
    expected_cost,
    percent_truncated,
    rarity_totals,
    rate_ppm,
    round_up,
)
from koepon.gacha.odds.slots import PityState, advance_pity, pity_due
from koepon.gacha.odds.validation import validate_configuration
from koepon.gacha.odds.violations import refusing

weights_lists = st.lists(st.integers(1, 2**24), min_size=1, max_size=30)
seeds = st.binary(min_size=32, max_size=32)


# --- rates --------------------------------------------------------------------------------


def test_percent_is_truncated_at_the_fourth_decimal() -> None:
    assert percent_truncated(2, 3) == "66.6666"  # never rounded up to 66.6667
    assert percent_truncated(1, 3) == "33.3333"
    assert percent_truncated(3_000, 1_000_000) == "0.3000"
    assert percent_truncated(1, 1) == "100.0000"
    assert percent_truncated(1, 2**32) == "0.0000"


@settings(deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 2**32))
def test_the_shown_percent_is_within_one_ten_thousandth_below_the_truth(w: int, extra: int) -> None:
    total = w + extra
    shown = Decimal(percent_truncated(w, total))
    exact = Fraction(w * 100, total)
    assert Fraction(shown) <= exact < Fraction(shown) + Fraction(1, 10_000)
    assert rate_ppm(w, total) == int(shown * 10_000)


@settings(deadline=None)
@given(weights_lists)
def test_shown_percents_never_sum_above_100(weights: list[int]) -> None:
    total = sum(weights)
    shown = sum(Decimal(percent_truncated(w, total)) for w in weights)
    assert Decimal(100) - Decimal("0.0001") * len(weights) < shown <= Decimal(100)


@settings(deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list(Rarity)), st.integers(1, 10**6)), min_size=1))
def test_rarity_totals_add_up_to_the_table_in_rarity_order(lines: list[tuple[Rarity, int]]) -> None:
    totals = rarity_totals(lines)
    assert sum(totals.values()) == sum(w for _, w in lines)
    assert [r.rank for r in totals] == sorted(r.rank for r in totals)


@settings(deadline=None)
@given(st.integers(1, 10_000), st.integers(1, 1000), st.integers(1, 10**6), st.integers(1, 300))
def test_expected_cost_with_a_ceiling_is_the_capped_geometric_mean(
    price: int, w: int, extra: int, ceiling: int
) -> None:
    p = Fraction(w, w + extra)
    # Draw k happens iff the k−1 before it all missed: E[draws] = Σ_{k<N} (1−p)^k.
    capped = price * sum((1 - p) ** k for k in range(ceiling))
    assert expected_cost(price, p, ceiling) == capped
    assert expected_cost(price, p) == price / p
    assert expected_cost(price, p, ceiling) <= expected_cost(price, p)
    assert expected_cost(price, p, ceiling) <= expected_cost(price, p, ceiling + 1)


def test_expected_cost_figures_and_flags() -> None:
    assert expected_cost(300, Fraction(3, 1000)) == 100_000
    assert round_up(Fraction(10, 3)) == 4 and round_up(Fraction(9, 3)) == 3
    assert not cost_is_flagged(Fraction(30_000), 300)  # exactly 100× is not above it
    assert cost_is_flagged(Fraction(30_001), 300)
    assert not cost_is_flagged(Fraction(50_000), 1_000)
    assert cost_is_flagged(Fraction(50_001), 1_000)


# --- disclosure ---------------------------------------------------------------------------


def test_the_disclosure_lists_every_table_rate_total_and_rule() -> None:
    config = samples.weighted()
    shown = disclose(config)
    main = shown.table("main")
    assert main is not None
    assert [line.item_id for line in main.lines] == [w.item_id for w in config.main]
    assert {t.rarity.value: t.percent for t in main.rarity_totals} == {
        "N": "60.0000", "R": "28.0000", "SR": "9.0000", "SSR": "2.7000", "UR": "0.3000"
    }  # fmt: skip
    assert shown.table("guaranteed") is not None and shown.table("pity") is not None
    assert shown.guaranteed_min_rarity is Rarity.SR and shown.pity_draws == 200
    assert shown.exchange_offers == (("signed-ur", 200),)
    assert shown.notice == PERCENT_NOTICE
    ur = next(line for line in main.lines if line.item_id == "signed-ur")
    # The UR is certain after 200 draws (pity and exchange): 300 × (1 − 0.997^200) / 0.003.
    assert ur.expected_cost_jpy == round_up(expected_cost(300, Fraction(3, 1000), 200))
    assert ur.expected_cost_jpy == 45_169 and ur.cost_flagged
    n1 = next(line for line in main.lines if line.item_id == "voice-n1")
    assert n1.expected_cost_medals == 1_000 and not n1.cost_flagged
    # A guaranteed-table item's cost counts 10連s until one holds it in any of its ten slots.
    guaranteed = shown.table("guaranteed")
    assert guaranteed is not None
    sr1 = next(line for line in guaranteed.lines if line.item_id == "illust-sr1")
    per_10_draw = 1 - (1 - Fraction(45, 1000)) ** 9 * (1 - Fraction(45, 100))
    assert sr1.expected_cost_jpy == round_up(3000 / per_10_draw)
    assert sr1.percent == "45.0000"
    pity = shown.table("pity")
    assert pity is not None and pity.lines[0].expected_cost_jpy is None


def test_a_box_disclosure_shows_what_is_left() -> None:
    config = samples.box()
    shown = disclose(config, box_remaining={"photo-signed": 1, "voice-a": 0, "voice-b": 3})
    box = shown.table("box")
    assert box is not None
    lines = {line.item_id: line for line in box.lines}
    assert (lines["photo-signed"].remaining, lines["photo-signed"].total) == (1, 2)
    assert lines["photo-signed"].percent == "25.0000"
    assert lines["voice-a"].expected_cost_jpy is None
    # One copy among four: on average (4 + 1) / (1 + 1) = 2.5 draws of ¥500.
    assert lines["photo-signed"].expected_cost_jpy == 1_250


# --- pity and guaranteed slots --------------------------------------------------------------


@settings(deadline=None)
@given(st.lists(st.sampled_from(list(Rarity)), max_size=400))
def test_pity_counts_draws_without_the_target_and_resets_on_it(drawn: list[Rarity]) -> None:
    pity = samples.weighted().pity
    assert pity is not None
    state = PityState()
    misses = 0
    for rarity in drawn:
        assert pity_due(pity, state) == (misses >= pity.draws - 1)
        state = advance_pity(pity, state, rarity)
        misses = 0 if rarity is Rarity.UR else misses + 1
        assert state.draws_without_target == misses


@settings(max_examples=60, deadline=None)
@given(seeds, st.integers(0, 10**9))
def test_the_tenth_slot_of_a_10_draw_is_sr_or_better(seed: bytes, nonce: int) -> None:
    outcome = draw(
        samples.weighted(), count=10, server_seed=seed, client_seed="c", first_nonce=nonce
    )
    assert [s.nonce for s in outcome.slots] == list(range(nonce, nonce + 10))
    assert outcome.slots[-1].table == "guaranteed"
    assert outcome.slots[-1].rarity.at_least(Rarity.SR)
    assert {s.table for s in outcome.slots[:-1]} == {"main"}
    assert outcome.next_nonce == nonce + 10


@settings(max_examples=30, deadline=None)
@given(seeds, st.integers(0, 9))
def test_the_ceiling_slot_comes_from_the_pity_table_even_inside_a_10_draw(
    seed: bytes, position: int
) -> None:
    config = samples.weighted()
    state = PityState(199 - position)  # the slot at ``position`` is the 200th without a UR
    outcome = draw(
        config, count=10, server_seed=seed, client_seed="c", first_nonce=0, pity_state=state
    )
    earlier_ur = any(s.rarity is Rarity.UR for s in outcome.slots[:position])
    if not earlier_ur:  # a UR drawn earlier would have reset the count
        assert outcome.slots[position].table == "pity"
        assert outcome.slots[position].item_id == "signed-ur"
    assert all(s.table != "pity" for s in outcome.slots[:position])
    assert outcome.pity_state == PityState(
        next(10 - 1 - i for i in reversed(range(10)) if outcome.slots[i].rarity is Rarity.UR)
    )


@settings(max_examples=50, deadline=None)
@given(seeds, st.text(min_size=1, max_size=8), st.integers(0, 10**6), st.integers(0, 199))
def test_a_draw_is_a_pure_function_of_its_inputs(
    seed: bytes, client: str, nonce: int, misses: int
) -> None:
    client = client.encode("ascii", "replace").decode()
    args = {"count": 10, "server_seed": seed, "client_seed": client, "first_nonce": nonce}
    first = draw(samples.weighted(), pity_state=PityState(misses), **args)  # type: ignore[arg-type]
    again = draw(samples.weighted(), pity_state=PityState(misses), **args)  # type: ignore[arg-type]
    assert first == again


# --- boxes ----------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(seeds, st.lists(st.sampled_from([1, 10]), min_size=1, max_size=20))
def test_emptying_a_box_yields_exactly_its_contents(seed: bytes, counts: list[int]) -> None:
    config = samples.box()
    remaining = dict(full_box(config))
    drawn: Counter[str] = Counter()
    nonce = 0
    for count in counts:
        left = sum(remaining.values())
        if left == 0:
            break
        count = min(count, left)
        outcome = draw(
            config, count=count, server_seed=seed, client_seed="c", first_nonce=nonce,
            box_remaining=remaining,
        )  # fmt: skip
        for slot in outcome.slots:
            assert slot.weights is not None and dict(slot.weights)[slot.item_id] > 0
        drawn.update(s.item_id for s in outcome.slots)
        assert outcome.box_remaining is not None
        remaining = dict(outcome.box_remaining)
        nonce = outcome.next_nonce
    full = dict(full_box(config))
    assert all(drawn[i] + remaining[i] == full[i] for i in full)


def test_drawing_more_than_a_box_holds_is_refused() -> None:
    with pytest.raises(BoxSoldOut):
        draw(
            samples.box(), count=10, server_seed=b"k" * 32, client_seed="c", first_nonce=0,
            box_remaining={"photo-signed": 1, "voice-a": 2, "voice-b": 3},
        )  # fmt: skip


# --- exchange points ------------------------------------------------------------------------


@settings(deadline=None)
@given(st.integers(0, 10**6), st.integers(0, 1000))
def test_points_accrue_per_paid_draw_and_buy_the_offered_item(balance: int, draws: int) -> None:
    rule = samples.weighted().exchange
    after = exchange.accrue(balance, paid_draws=draws, rule=rule)
    assert after == balance + draws
    if after >= 200:
        assert exchange.spend(after, item_id="signed-ur", rule=rule) == after - 200
    else:
        with pytest.raises(ExchangeRefused):
            exchange.spend(after, item_id="signed-ur", rule=rule)


def test_an_item_not_on_offer_cannot_be_exchanged() -> None:
    rule = samples.weighted().exchange
    with pytest.raises(ExchangeRefused) as refused:
        exchange.spend(10_000, item_id="voice-n1", rule=rule)
    assert refused.value.code == "exchange_refused"
    assert exchange.draws_to_exchange("signed-ur", rule) == 200


# --- step-up and per-fan limits -------------------------------------------------------------


def test_a_step_up_shows_each_step_and_draws_its_own_guaranteed_slot() -> None:
    config, violations = validate_configuration(samples.step_up_raw())
    assert config is not None and refusing(violations) == []
    shown = disclose(config)
    assert [(s.count, s.price_medals, s.guaranteed_table) for s in shown.steps] == [
        (10, 1500, None),
        (10, 3000, "steps[1].guaranteed"),
    ]
    step_table = shown.table("steps[1].guaranteed")
    assert step_table is not None and [x.percent for x in step_table.lines] == [
        "90.0000",
        "10.0000",
    ]
    first = draw(config, count=10, server_seed=b"k" * 32, client_seed="c", first_nonce=0, step=0)
    assert {s.table for s in first.slots} == {"main"}
    second = draw(config, count=10, server_seed=b"k" * 32, client_seed="c", first_nonce=10, step=1)
    assert second.slots[-1].table == "steps[1].guaranteed"
    assert second.slots[-1].rarity.at_least(Rarity.SSR)
    with pytest.raises(ValueError):
        draw(config, count=1, server_seed=b"k" * 32, client_seed="c", first_nonce=0, step=1)


@settings(deadline=None)
@given(st.integers(0, 50), st.integers(0, 50), st.integers(1, 10))
def test_per_fan_limits_refuse_exactly_what_would_pass_them(
    drawn: int, today: int, count: int
) -> None:
    limits = FanLimits(max_draws=40, max_draws_per_day=30)
    left = max(0, min(40 - drawn, 30 - today))
    assert draws_left(limits, drawn=drawn, drawn_today=today) == left
    if count <= left:
        check_draw_limits(limits, drawn=drawn, drawn_today=today, count=count)
    else:
        with pytest.raises(DrawLimitReached) as refused:
            check_draw_limits(limits, drawn=drawn, drawn_today=today, count=count)
        assert refused.value.status == 403 and refused.value.extra["draws_left"] == left
    assert draws_left(FanLimits(), drawn=drawn, drawn_today=today) is None
