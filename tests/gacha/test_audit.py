"""Audits compare observed outcomes with the declared table and alert below p = 0.001."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gacha import samples
from koepon.gacha.audit.statistics import ALERT_P, audit
from koepon.gacha.audit.tables import audit_table
from koepon.gacha.draws.outcomes import draw

TIERS = samples.TIER_WEIGHTS  # N 60%, R 28%, SR 9%, SSR 2.7%, UR 0.3%


def test_outcomes_matching_the_table_raise_no_alert() -> None:
    observed = {"N": 6_010, "R": 2_790, "SR": 895, "SSR": 274, "UR": 31}
    report = audit(TIERS, observed)
    assert report.draws == 10_000 and not report.alert
    assert report.chi_square_p is not None and report.chi_square_p > 0.5
    assert report.degrees_of_freedom == 4
    ssr = report.row("SSR")
    assert (ssr.declared_ppm, ssr.observed_ppm, ssr.observed) == (27_000, 27_400, 274)
    assert ssr.binomial_p is not None and report.row("N").binomial_p is None  # N is not rare


def test_a_stingy_rare_tier_raises_an_alert() -> None:
    observed = {"N": 6_080, "R": 2_800, "SR": 920, "SSR": 190, "UR": 10}
    report = audit(TIERS, observed)
    assert report.alert and report.alert_p == ALERT_P
    ssr = report.row("SSR")
    assert ssr.binomial_p is not None and ssr.binomial_p < ALERT_P


def test_an_outcome_the_table_cannot_produce_is_an_alert() -> None:
    report = audit({"a": 1, "b": 0}, {"a": 10, "b": 1})
    assert report.alert and report.chi_square_p == 0.0
    with pytest.raises(ValueError):
        audit({"a": 1}, {"ghost": 1})


def test_small_cells_are_pooled_before_the_chi_square() -> None:
    # 100 draws: SSR expects 2.7 and UR 0.3, so they are pooled (with SR: 9 + 3 = 12 ≥ 5).
    report = audit(TIERS, {"N": 60, "R": 28, "SR": 9, "SSR": 3})
    assert report.degrees_of_freedom == 2
    assert report.chi_square_p is not None and not report.alert


def test_an_audit_of_nothing_reports_nothing() -> None:
    report = audit(TIERS, {})
    assert report.draws == 0 and report.chi_square_p is None and not report.alert


@settings(deadline=None)
@given(
    st.lists(st.integers(1, 1000), min_size=2, max_size=12),
    st.integers(1, 50),
)
def test_counts_exactly_in_proportion_never_alert(weights: list[int], scale: int) -> None:
    declared = {f"item-{i}": w for i, w in enumerate(weights)}
    observed = {key: w * scale for key, w in declared.items()}
    report = audit(declared, observed)
    assert not report.alert
    assert report.chi_square in (None, 0.0)
    assert all(row.observed == row.expected for row in report.rows)


def test_a_gacha_table_is_audited_from_its_own_slots_only() -> None:
    config = samples.weighted()
    slots = []
    for start in range(0, 3000, 10):
        outcome = draw(config, count=10, server_seed=b"a" * 32, client_seed="c", first_nonce=start)
        slots.extend(slot.as_record() for slot in outcome.slots)
    main = audit_table(config, slots)
    assert main.draws == 2700  # nine main slots per 10連; the tenth is the guaranteed slot
    assert [row.key for row in main.rows] == ["N", "R", "SR", "SSR", "UR"]
    assert not main.alert
    guaranteed = audit_table(config, slots, table="guaranteed", by="item")
    assert guaranteed.draws == 300 and guaranteed.row("illust-sr1").declared_ppm == 450_000
    # A main table that quietly never pays out its UR is caught.
    rigged = [s for s in slots if not (s["table"] == "main" and s["rarity"] in ("UR", "SSR"))]
    assert audit_table(config, rigged).alert
    with pytest.raises(ValueError):
        audit_table(samples.box(), [])
