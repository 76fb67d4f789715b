"""Configurations that break a COMPLIANCE G-rule are refused, naming the rule."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gacha import samples
from koepon.gacha.errors import ConfigurationRefused
from koepon.gacha.odds.campaigns import premium_cap_jpy, validate_campaign
from koepon.gacha.odds.disclosure import disclose
from koepon.gacha.odds.validation import check_disclosure, validate_configuration
from koepon.gacha.odds.versions import (
    OddsVersion,
    check_append_only,
    check_new_version,
    config_digest,
    version_in_force,
)
from koepon.gacha.odds.violations import flagged, refusal, refusing


def refused_rules(raw: dict[str, Any], **kwargs: Any) -> set[str]:
    _, violations = validate_configuration(raw, **kwargs)
    return {v.rule for v in refusing(violations)}


def test_the_sample_configurations_pass() -> None:
    for raw in (samples.weighted_raw(), samples.box_raw()):
        config, violations = validate_configuration(raw)
        assert config is not None
        assert refusing(violations) == []


# --- G1: no コンプガチャ in any form --------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "field", "value"),
    [
        ((), "completion_bonus", {"item_id": "signed-ur"}),
        ((), "collect_all", {"count": 8, "reward": "signed-ur"}),
        ((), "achievements", [{"after": "all N items", "grants": "voice-n1"}]),
        ((), "set_bonus", True),
        (("multi",), "complete_set_reward", "signed-ur"),
        (("pity",), "kind", "complete_the_set"),
        ((), "コンプ特典", "signed-ur"),
    ],
)
def test_a_set_completion_reward_is_refused_as_g1(
    where: tuple[str, ...], field: str, value: Any
) -> None:
    raw = samples.weighted_raw()
    target = raw
    for key in where:
        target = target[key]
    target[field] = value
    config, violations = validate_configuration(raw)
    assert config is None or "G1" in {v.rule for v in violations}
    assert "G1" in refused_rules(raw)
    error = refusal(violations)
    assert isinstance(error, ConfigurationRefused)
    assert error.code == "G1" and error.status == 422
    assert field in error.detail


def test_a_campaign_rewarding_a_completed_set_is_refused_as_g1() -> None:
    raw = {
        "kind": "total",
        "earned_by": "purchase",
        "condition": "collect_all_8_items",
        "transaction_jpy": 3000,
        "prize_value_jpy": 100,
    }
    campaign, violations = validate_campaign(raw)
    assert campaign is None
    assert "G1" in {v.rule for v in violations}


def test_an_item_named_complete_is_not_mistaken_for_g1() -> None:
    raw = samples.weighted_raw()
    raw["items"][0]["name"] = "Complete voice pack"
    assert refused_rules(raw) == set()


# --- G2: only allowed mechanics -------------------------------------------------------------


def test_an_unknown_mechanic_is_refused_as_g2() -> None:
    raw = samples.weighted_raw()
    raw["roulette_bonus_spin"] = {"chance": 5}
    assert refused_rules(raw) == {"G2"}


def test_a_box_with_pity_is_refused_as_g2() -> None:
    raw = samples.box_raw()
    raw["pity"] = {
        "draws": 10,
        "min_rarity": "UR",
        "table": [{"item_id": "photo-signed", "weight": 1}],
    }
    assert "G2" in refused_rules(raw)


def test_a_step_of_more_than_ten_slots_is_refused_as_g2_at_once() -> None:
    # Found by the Hypothesis test below: a step of 2**40 slots with a guaranteed slot passed,
    # and its expected cost, (1 − p)^(2**40) in exact fractions, never finished.
    for count in (11, 2**40):
        raw = samples.step_up_raw()
        raw["step_up"]["steps"][1]["count"] = count
        started = time.perf_counter()
        _config, violations = validate_configuration(raw)
        assert "G2" in {v.rule for v in violations if v.path == "step_up.steps[1]"}
        assert time.perf_counter() - started < 5
    raw = samples.step_up_raw()
    raw["step_up"]["steps"][1]["count"] = 1
    assert not refusing(validate_configuration(raw)[1])


def test_an_exchange_beyond_a_thousand_draws_of_points_is_refused_as_g2_at_once() -> None:
    raw = samples.weighted_raw()
    raw["exchange"]["offers"][0]["cost_points"] = 1000  # one point per paid draw
    assert not refusing(validate_configuration(raw)[1])
    for cost in (1001, 2**40):
        raw["exchange"]["offers"][0]["cost_points"] = cost
        started = time.perf_counter()
        _config, violations = validate_configuration(raw)
        paths = {v.path for v in violations if v.rule == "G2"}
        assert "exchange.offers[0].cost_points" in paths
        assert time.perf_counter() - started < 5


def test_a_weighted_gacha_without_a_main_table_is_refused_as_g2() -> None:
    raw = samples.weighted_raw()
    raw["main"] = []
    assert "G2" in refused_rules(raw)


# --- G3: the table is exactly what is shown -------------------------------------------------


def test_weights_beyond_two_to_the_32_are_refused_as_g3() -> None:
    raw = samples.weighted_raw()
    raw["main"][0]["weight"] = 2**32
    assert "G3" in refused_rules(raw)


def test_a_guaranteed_table_with_an_item_below_its_rarity_is_refused_as_g3() -> None:
    raw = samples.weighted_raw()
    raw["multi"]["guaranteed"]["table"].append({"item_id": "voice-n1", "weight": 5})
    assert "G3" in refused_rules(raw)


def test_float_weights_are_refused() -> None:
    raw = samples.weighted_raw()
    raw["main"][0]["weight"] = 300000.5
    _, violations = validate_configuration(raw)
    assert [v.path for v in refusing(violations)] == ["main[0].weight"]


# --- G4: odds versions are append-only, announced in advance ---------------------------------

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def version(number: int, published: datetime, effective: datetime, note: str = "") -> OddsVersion:
    return OddsVersion(number, published, effective, config_digest(samples.weighted()), note)


def test_a_live_change_without_a_days_notice_is_refused_as_g4() -> None:
    history = [version(1, T0, T0)]
    hurried = version(2, T0 + timedelta(days=3), T0 + timedelta(days=3, hours=23), "UR up")
    assert {v.rule for v in check_new_version(history, hurried, live=True)} == {"G4"}
    announced = version(2, T0 + timedelta(days=3), T0 + timedelta(days=4), "UR up")
    assert check_new_version(history, announced, live=True) == []


def test_a_change_without_a_change_note_or_out_of_sequence_is_refused_as_g4() -> None:
    history = [version(1, T0, T0)]
    assert check_new_version(history, version(2, T0, T0 + timedelta(days=2)), live=False)
    assert check_new_version(history, version(3, T0, T0 + timedelta(days=2), "x"), live=False)


def test_editing_or_removing_a_published_version_is_refused_as_g4() -> None:
    published = [version(1, T0, T0), version(2, T0, T0 + timedelta(days=1), "SR up")]
    edited = [published[0], version(2, T0, T0 + timedelta(days=1), "SR up quietly")]
    assert {v.rule for v in check_append_only(published, edited)} == {"G4"}
    assert {v.rule for v in check_append_only(published, published[:1])} == {"G4"}
    assert check_append_only(published, [*published, version(3, T0, T0, "x")]) == []


def test_the_version_in_force_is_the_latest_effective_one() -> None:
    history = [version(1, T0, T0), version(2, T0, T0 + timedelta(days=1), "x")]
    assert version_in_force(history, T0 + timedelta(hours=23)) == history[0]
    assert version_in_force(history, T0 + timedelta(days=1)) == history[1]
    assert version_in_force(history, T0 - timedelta(seconds=1)) is None


# --- G5: stock-limited items only in boxes --------------------------------------------------


def test_a_stock_limited_item_in_a_weighted_gacha_is_refused_as_g5() -> None:
    raw = samples.weighted_raw()
    raw["items"][-1]["stock"] = 100
    assert refused_rules(raw) == {"G5"}


def test_a_box_item_whose_stock_differs_from_its_count_is_refused_as_g5() -> None:
    raw = samples.box_raw()
    raw["items"][0]["stock"] = 3
    assert refused_rules(raw) == {"G5"}


def test_a_stock_limited_item_offered_for_exchange_points_is_refused_as_g5() -> None:
    raw = samples.box_raw()
    raw["exchange"] = {
        "points_per_paid_draw": 1,
        "offers": [{"item_id": "photo-signed", "cost_points": 20}],
    }
    assert refused_rules(raw) == {"G5"}
    raw["exchange"]["offers"] = [{"item_id": "voice-a", "cost_points": 20}]
    assert "G5" not in refused_rules(raw)


# --- G6: disclosure complete ----------------------------------------------------------------


def test_an_item_that_cannot_be_obtained_is_refused_as_g6() -> None:
    raw = samples.weighted_raw()
    raw["items"].append({"item_id": "teaser", "content_id": "c-teaser", "rarity": "UR"})
    assert refused_rules(raw) == {"G6"}


def test_a_disclosure_missing_a_table_is_refused_as_g6() -> None:
    config = samples.weighted()
    disclosure = disclose(config)
    incomplete = type(disclosure)(
        **{**disclosure.__dict__, "tables": tuple(t for t in disclosure.tables if t.name != "pity")}
    )
    assert check_disclosure(config, disclosure) == []
    assert {v.rule for v in check_disclosure(config, incomplete)} == {"G6"}


def test_a_period_ending_before_it_starts_is_refused_as_g6() -> None:
    raw = samples.weighted_raw()
    raw["period"]["ends_at"] = "2026-11-30T00:00:00+09:00"
    assert refused_rules(raw) == {"G6"}


# --- G7: expected cost is flagged -----------------------------------------------------------


def test_an_expensive_item_is_flagged_as_g7_but_not_refused() -> None:
    raw = samples.weighted_raw()
    del raw["pity"], raw["exchange"]
    _, violations = validate_configuration(raw)
    assert refusing(violations) == []
    flags = flagged(violations)
    assert {v.rule for v in flags} == {"G7"}
    # UR at 0.3% and ¥300 a draw: ¥100,000 expected, above both 100× (¥30,000) and ¥50,000.
    assert any("signed-ur" in v.path and "¥100,000" in v.detail for v in flags)


# --- G8: no blanks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        lambda raw: raw["main"].append({"item_id": "ghost", "weight": 10}),
        lambda raw: raw["items"][0].update(content_id=""),
        lambda raw: raw["items"][0].update(name="ハズレ"),
        lambda raw: raw["main"][0].update(weight=0),
    ],
    ids=["unknown-item", "no-content", "named-blank", "zero-weight"],
)
def test_a_blank_is_refused_as_g8(change: Any) -> None:
    raw = samples.weighted_raw()
    change(raw)
    assert "G8" in refused_rules(raw)


def test_content_that_does_not_exist_is_refused_as_g8() -> None:
    raw = samples.weighted_raw()
    known = {i["content_id"] for i in raw["items"]} - {"content-voice-n1"}
    assert refused_rules(raw, known_content_ids=known) == {"G8"}


def test_a_box_line_with_no_items_is_refused_as_g8() -> None:
    raw = samples.box_raw()
    raw["box"][1]["count"] = 0
    assert "G8" in refused_rules(raw)


# --- G10: premium caps ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("transaction", "cap"),
    [(300, 200), (999, 200), (1000, 200), (3000, 600), (10_000, 2000)],
)
def test_total_premium_caps(transaction: int, cap: int) -> None:
    assert premium_cap_jpy("total", transaction) == cap
    ok = {"kind": "total", "earned_by": "purchase", "transaction_jpy": transaction}
    assert validate_campaign({**ok, "prize_value_jpy": cap})[1] == []
    _, violations = validate_campaign({**ok, "prize_value_jpy": cap + 1})
    assert {v.rule for v in violations} == {"G10"}


def test_lottery_caps_per_prize_and_in_total() -> None:
    base = {"kind": "lottery", "earned_by": "draw", "planned_sales_jpy": 10_000_000}
    assert premium_cap_jpy("lottery", 300) == 6_000
    assert premium_cap_jpy("lottery", 10_000) == 100_000
    fine = {**base, "transaction_jpy": 300, "prize_value_jpy": 6_000, "total_prizes_jpy": 200_000}
    assert validate_campaign(fine)[1] == []
    too_big = {**fine, "prize_value_jpy": 6_001}
    assert {v.rule for v in validate_campaign(too_big)[1]} == {"G10"}
    too_many = {**fine, "total_prizes_jpy": 200_001}
    assert {v.rule for v in validate_campaign(too_many)[1]} == {"G10"}


@settings(deadline=None)
@given(st.integers(1, 10**7), st.integers(1, 10**7))
def test_a_total_premium_is_refused_exactly_above_its_cap(transaction: int, prize: int) -> None:
    raw = {"kind": "total", "earned_by": "purchase", "transaction_jpy": transaction}
    _, violations = validate_campaign({**raw, "prize_value_jpy": prize})
    assert bool(violations) == (prize > premium_cap_jpy("total", transaction))


# --- properties -----------------------------------------------------------------------------

rarities = st.sampled_from(["N", "R", "SR", "SSR", "UR"])


@st.composite
def weighted_configs(draw: st.DrawFn) -> dict[str, Any]:
    """Random valid weighted configurations: any items, weights, 10連 price, pity or not."""
    n = draw(st.integers(1, 15))
    items = [
        {"item_id": f"item-{k}", "content_id": f"c-{k}", "rarity": draw(rarities)} for k in range(n)
    ]
    weights = draw(st.lists(st.integers(1, 2**32 // 16), min_size=n, max_size=n))
    raw: dict[str, Any] = {
        "kind": "weighted",
        "price_medals": draw(st.integers(1, 10_000)),
        "price_jpy": draw(st.integers(1, 10_000)),
        "period": {"starts_at": "2026-12-01T00:00:00+09:00"},
        "items": items,
        "main": [{"item_id": f"item-{k}", "weight": w} for k, w in enumerate(weights)],
    }
    if draw(st.booleans()):
        top = max(items, key=lambda i: ["N", "R", "SR", "SSR", "UR"].index(i["rarity"]))
        raw["pity"] = {
            "draws": draw(st.integers(1, 1000)),
            "min_rarity": top["rarity"],
            "table": [{"item_id": top["item_id"], "weight": 1}],
        }
    return raw


@settings(max_examples=60, deadline=None)
@given(weighted_configs())
def test_valid_configurations_are_accepted_and_fully_disclosed(raw: dict[str, Any]) -> None:
    config, violations = validate_configuration(raw)
    assert config is not None
    assert refusing(violations) == []
    main = disclose(config).table("main")
    assert main is not None
    assert [line.item_id for line in main.lines] == [w["item_id"] for w in raw["main"]]
    assert sum(t.rate_ppm for t in main.rarity_totals) <= 1_000_000
    assert all(v.rule == "G7" for v in violations)


g1_keys = st.sampled_from(
    ["completion_bonus", "collect_all", "achievements", "full_set_reward", "コンプ報酬"]
)


@settings(max_examples=60, deadline=None)
@given(weighted_configs(), g1_keys, st.sampled_from(["", "pity", "period"]))
def test_any_set_completion_field_anywhere_is_refused_as_g1(
    raw: dict[str, Any], key: str, where: str
) -> None:
    target = raw.get(where, raw) if where else raw
    target[key] = {"reward": "item-0"}
    error = refusal(validate_configuration(raw)[1])
    assert error is not None and error.code == "G1"


@settings(deadline=None)
@given(st.integers(0, 72 * 3600), st.booleans())
def test_live_odds_change_is_refused_exactly_under_a_days_notice(notice_s: int, live: bool) -> None:
    history = [version(1, T0, T0)]
    published = T0 + timedelta(days=2)
    new = version(2, published, published + timedelta(seconds=notice_s), "change")
    refused = check_new_version(history, new, live=live)
    assert bool(refused) == (live and notice_s < 24 * 3600)


numbers = st.one_of(
    st.integers(-5, 5), st.integers(-(2**40), 2**40), st.none(), st.text(max_size=3)
)


def _numeric_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _numeric_paths(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _numeric_paths(v, (*path, i))]
    return [path] if isinstance(value, int) and not isinstance(value, bool) else []


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["weighted", "box", "step_up"]), st.data())
def test_any_numeric_nonsense_gives_violations_never_a_crash(
    kind: str, data: st.DataObject
) -> None:
    raw = {
        "weighted": samples.weighted_raw,
        "box": samples.box_raw,
        "step_up": samples.step_up_raw,
    }[kind]()
    paths = _numeric_paths(raw)
    for path in data.draw(st.lists(st.sampled_from(paths), min_size=1, max_size=4)):
        target = raw
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = data.draw(numbers)
    config, violations = validate_configuration(raw)
    assert config is not None or refusing(violations)
    if config is not None and not refusing(violations):
        disclose(config)  # a configuration that passes can always be shown
