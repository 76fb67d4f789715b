"""Algorithm version 1: seeds, the HMAC stream, unbiased picks, and a million fair draws."""

from __future__ import annotations

import hashlib
import time
from bisect import bisect_right
from itertools import accumulate, islice

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gacha import samples
from koepon.gacha.audit.statistics import audit
from koepon.gacha.errors import InvalidClientSeed
from koepon.gacha.fairness import seeds
from koepon.gacha.fairness.rng import PreparedTable, acceptance_limit, draw_slot, pick, slot_stream

KEY = bytes(range(32))
# HMAC-SHA256(key 00..1f, "koepon:0:0") and "koepon:0:1", computed with OpenSSL:
#   printf 'koepon:0:0' | openssl dgst -sha256 -mac HMAC -macopt hexkey:0001…1f
ROUND_0 = "82e011d21e8d475f4c8eb247045fc4173fedecef27dc5836bc56e3b715c9d6a2"
ROUND_1 = "f2e67e1903b16b4e1c79489002f4ab3fef66cef9cef53073a61b9655ba31926a"


def uint32s(hex_digest: str) -> list[int]:
    return [int(hex_digest[i : i + 8], 16) for i in range(0, 64, 8)]


def test_the_stream_is_hmac_rounds_read_as_big_endian_uint32() -> None:
    stream = list(islice(slot_stream(KEY, "koepon", 0), 16))
    assert stream == uint32s(ROUND_0) + uint32s(ROUND_1)


def test_the_server_seed_is_32_random_bytes_committed_by_its_sha256() -> None:
    seed = seeds.new_server_seed()
    assert len(seed) == 32 and seed != seeds.new_server_seed()
    assert seeds.commitment(seed) == hashlib.sha256(seed).hexdigest()
    assert seeds.commitment(seed).islower()
    assert seeds.matches_commitment(seed, seeds.commitment(seed))
    assert not seeds.matches_commitment(bytes(32), seeds.commitment(seed))


@settings(deadline=None)
@given(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=64)
)
def test_printable_ascii_client_seeds_of_1_to_64_are_accepted(client_seed: str) -> None:
    assert seeds.check_client_seed(client_seed) == client_seed


@pytest.mark.parametrize("bad", ["", "x" * 65, "tab\there", "改行", "e\u0301", "\x7f"])
def test_other_client_seeds_are_refused_saying_why(bad: str) -> None:
    with pytest.raises(InvalidClientSeed) as refused:
        seeds.check_client_seed(bad)
    assert refused.value.status == 422 and refused.value.code == "invalid_client_seed"


def test_the_default_client_seed_is_acceptable_and_random() -> None:
    seed = seeds.new_client_seed()
    assert seeds.check_client_seed(seed) == seed and seed != seeds.new_client_seed()


def test_values_in_the_biased_tail_are_rejected() -> None:
    # W = 3: 2^32 mod 3 = 1, so 2^32 − 1 is the one rejected value; 5 mod 3 = 2 picks line 2.
    assert acceptance_limit(3) == 2**32 - 1
    assert pick([1, 1, 1], iter([2**32 - 1, 5])) == 2
    assert pick([1, 1, 1], iter([2**32 - 2, 5])) == (2**32 - 2) % 3
    # W = 2^31 + 1 rejects almost half of all values.
    assert acceptance_limit(2**31 + 1) == 2**31 + 1
    assert pick([2**31, 1], iter([2**31 + 1, 2**31])) == 1


@settings(deadline=None)
@given(st.lists(st.integers(0, 2**20), min_size=1, max_size=30).filter(lambda w: sum(w) > 0),
       st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=5))  # fmt: skip
def test_the_pick_is_the_first_line_whose_running_total_exceeds_r(
    weights: list[int], values: list[int]
) -> None:
    total = sum(weights)
    limit = acceptance_limit(total)
    accepted = next((u for u in values if u < limit), None)
    if accepted is None:
        return
    index = pick(weights, iter(values))
    r = accepted % total
    running = list(accumulate(weights))
    assert index == bisect_right(running, r)
    assert weights[index] > 0
    assert running[index] > r and (index == 0 or running[index - 1] <= r)


@settings(deadline=None)
@given(st.integers(1, 2**32))
def test_accepted_values_cover_every_residue_equally(total: int) -> None:
    limit = acceptance_limit(total)
    assert limit % total == 0 and 2**32 - limit < total


def test_tables_out_of_range_are_refused() -> None:
    for weights in ([], [0], [2**32, 1], [-1, 2]):
        with pytest.raises(ValueError):
            PreparedTable.of(weights)


def test_known_outcomes_of_algorithm_version_1() -> None:
    tiers = list(samples.TIER_WEIGHTS.values())
    outcomes = [draw_slot(KEY, "koepon", n, tiers) for n in range(20)]
    assert outcomes == [1, 1, 0, 1, 0, 1, 0, 0, 2, 0, 1, 2, 0, 0, 2, 0, 1, 0, 0, 0]
    # u0 of nonce 0 is 0x82e011d2 = 2195722706; r = u0 mod 10^6 = 722706 falls in R.
    assert int(ROUND_0[:8], 16) % 1_000_000 == 722_706


def test_a_million_draws_match_the_declared_tiers() -> None:
    """1,000,000 slots of a five-tier table pass chi-square at α = 0.01 and the SSR binomial."""
    tiers = list(samples.TIER_WEIGHTS)
    table = PreparedTable.of(list(samples.TIER_WEIGHTS.values()))
    seed = hashlib.sha256(b"koepon fairness simulation").digest()
    counts = [0] * len(tiers)
    started = time.perf_counter()
    for nonce in range(1_000_000):
        counts[draw_slot(seed, "simulation", nonce, table)] += 1
    elapsed = time.perf_counter() - started
    report = audit(samples.TIER_WEIGHTS, dict(zip(tiers, counts, strict=True)))
    assert report.draws == 1_000_000
    assert report.chi_square_p is not None and report.chi_square_p > 0.01
    ssr = report.row("SSR")
    assert ssr.binomial_p is not None and ssr.binomial_p > 0.01
    assert not report.alert
    print(f"1,000,000 draws in {elapsed:.2f}s; chi-square p={report.chi_square_p:.3f}")
