"""The collab split: exact, deterministic, largest remainder (pure)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from koepon.contracts.vtuber import RevenueShare
from koepon.vtuber.sales.split import split


def shares(*pairs: tuple[str, int]) -> list[RevenueShare]:
    return [RevenueShare(vtuber_id=v, share_bp=bp) for v, bp in pairs]


def test_three_way_split_of_an_odd_amount_by_hand() -> None:
    # 1001 × 3333/10000 = 333.6333, × 3334/10000 = 333.7334: floors 999, 2 yen left; the
    # largest remainder (c, .7334) gets one, then the tie at .6333 goes to the smaller id.
    parts = split(1001, shares(("b", 3333), ("a", 3333), ("c", 3334)))
    assert parts == {"a": 334, "b": 333, "c": 334}
    assert sum(parts.values()) == 1001


def test_ties_in_remainder_go_to_the_larger_share_first() -> None:
    # 1 yen, 50/50: equal remainders and shares → the smaller id.
    assert split(1, shares(("z", 5000), ("y", 5000))) == {"y": 1, "z": 0}
    # 3 yen at 6000/4000: 1.8 and 1.2 → 1 + 1, the one left to the larger remainder
    assert split(3, shares(("a", 4000), ("b", 6000))) == {"a": 1, "b": 2}
    # equal remainders (.5), different shares: 7 yen at 5000/2500/2500 → 3.5, 1.75, 1.75
    assert split(7, shares(("a", 2500), ("b", 2500), ("c", 5000))) == {"a": 2, "b": 2, "c": 3}


def test_solo_takes_everything_and_zero_splits_to_zero() -> None:
    assert split(12345, shares(("solo", 10000))) == {"solo": 12345}
    assert split(0, shares(("a", 3000), ("b", 7000))) == {"a": 0, "b": 0}


@pytest.mark.parametrize(
    "bad",
    [
        shares(("a", 5000), ("b", 4999)),
        shares(("a", 10001), ("b", -1)),
        shares(("a", 5000), ("a", 5000)),
        [],
    ],
)
def test_shares_that_are_not_the_whole_are_refused(bad: list[RevenueShare]) -> None:
    with pytest.raises(ValueError):
        split(100, bad)


def test_a_negative_total_is_refused() -> None:
    with pytest.raises(ValueError):
        split(-1, shares(("a", 10000)))


@st.composite
def share_sets(draw: st.DrawFn) -> list[RevenueShare]:
    n = draw(st.integers(min_value=1, max_value=8))
    cuts = sorted(draw(st.lists(st.integers(1, 9999), min_size=n - 1, max_size=n - 1, unique=True)))
    bounds = [0, *cuts, 10000]
    ids = draw(
        st.lists(st.text("abcdefgh", min_size=1, max_size=4), min_size=n, max_size=n, unique=True)
    )
    return [RevenueShare(vtuber_id=ids[i], share_bp=bounds[i + 1] - bounds[i]) for i in range(n)]


@given(total=st.integers(min_value=0, max_value=10**9), parties=share_sets())
def test_parts_sum_to_the_whole_each_within_a_yen_of_exact(
    total: int, parties: list[RevenueShare]
) -> None:
    parts = split(total, parties)
    assert sum(parts.values()) == total
    for share in parties:
        exact_floor = total * share.share_bp // 10000
        assert parts[share.vtuber_id] in (exact_floor, exact_floor + 1)


@given(total=st.integers(min_value=0, max_value=10**7), parties=share_sets(), seed=st.integers())
def test_the_order_of_the_shares_changes_nothing(
    total: int, parties: list[RevenueShare], seed: int
) -> None:
    shuffled = list(parties)
    random.Random(seed).shuffle(shuffled)
    assert split(total, shuffled) == split(total, parties)


@given(total=st.integers(min_value=0, max_value=10**7), parties=share_sets())
def test_a_larger_share_never_gets_less(total: int, parties: list[RevenueShare]) -> None:
    parts = split(total, parties)
    for a in parties:
        for b in parties:
            if a.share_bp > b.share_bp:
                assert parts[a.vtuber_id] >= parts[b.vtuber_id]
