"""A collab gacha's revenue split (pure): the gacha's own VTuber among the parties, each once,
every share positive, at most five parties, summing to 10,000 bp; a solo gacha has none."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gacha import samples
from koepon.gacha.odds.model import GachaConfig, RevenueShareLine
from koepon.gacha.odds.shares import MAX_PARTIES, WHOLE_BP, parse_shares, share_problems
from koepon.gacha.odds.versions import config_digest


def lines(*pairs: tuple[str, int]) -> tuple[RevenueShareLine, ...]:
    return tuple(RevenueShareLine(vtuber_id=v, share_bp=bp) for v, bp in pairs)


def test_a_solo_gacha_and_a_sound_split_have_no_problem() -> None:
    assert share_problems("luna", ()) == []
    assert share_problems("luna", lines(("luna", 6000), ("sora", 4000))) == []
    assert share_problems("luna", lines(("luna", WHOLE_BP))) == []


@pytest.mark.parametrize(
    ("split", "words"),
    [
        (lines(("sora", 5000), ("mio", 5000)), "own VTuber luna"),
        (lines(("luna", 5000), ("luna", 5000)), "listed twice: luna"),
        (lines(("luna", 10_000), ("sora", 0)), "share_bp must be positive"),
        (lines(("luna", 10_500), ("sora", -500)), "share_bp must be positive"),
        (lines(("luna", 5000), ("sora", 4999)), "sum to 9999 bp"),
        (lines(("luna", 5000), ("sora", 5001)), "sum to 10001 bp"),
        (
            lines(*((f"v{i}", 1000) for i in range(9)), ("luna", 1000)),
            f"at most {MAX_PARTIES} VTubers",
        ),
    ],
)
def test_a_bad_split_is_named(split: tuple[RevenueShareLine, ...], words: str) -> None:
    problems = share_problems("luna", split)
    assert any(words in problem for problem in problems), problems


@given(st.lists(st.integers(min_value=1, max_value=WHOLE_BP), min_size=1, max_size=MAX_PARTIES))
def test_any_positive_split_summing_to_the_whole_is_accepted(parts: list[int]) -> None:
    shares = [*parts[:-1], WHOLE_BP - sum(parts[:-1])]
    split = lines(*((f"vt{i}" if i else "luna", bp) for i, bp in enumerate(shares)))
    problems = share_problems("luna", split)
    assert (problems == []) == all(bp > 0 for bp in shares)


@pytest.mark.parametrize(
    "raw",
    [
        {"revenue_shares": "luna"},
        {"revenue_shares": [{"vtuber_id": "luna"}]},
        {"revenue_shares": [{"vtuber_id": "luna", "share_bp": "10000"}]},
        {"revenue_shares": [{"vtuber_id": "a b", "share_bp": 10000}]},
        {"revenue_shares": [{"vtuber_id": "luna", "share_bp": 10000, "bonus": 1}]},
    ],
)
def test_a_malformed_split_is_reported_by_path(raw: dict[str, Any]) -> None:
    shares, problems = parse_shares(raw)
    assert shares == () and problems and all(p.startswith("revenue_shares") for p in problems)


def test_a_solo_configurations_digest_is_what_it_was_before_collabs() -> None:
    raw = samples.weighted_raw()
    solo = GachaConfig.model_validate(raw)
    collab = GachaConfig.model_validate(
        {**raw, "revenue_shares": [{"vtuber_id": "luna", "share_bp": WHOLE_BP}]}
    )
    before = {k: v for k, v in solo.model_dump(mode="json").items() if k != "revenue_shares"}
    canonical = json.dumps(before, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert config_digest(solo) == hashlib.sha256(canonical.encode()).hexdigest()
    assert config_digest(solo) != config_digest(collab)
