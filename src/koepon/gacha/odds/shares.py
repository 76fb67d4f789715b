"""A collab gacha's revenue split (COMPLIANCE R1): who earns what part of one gacha's revenue.

A gacha of one VTuber has no split (everything is its VTuber's). A collab gacha lists every
VTuber with its share in basis points: the gacha's own VTuber among them, each VTuber once,
every share positive, at most ``MAX_PARTIES`` parties, the shares summing to the whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError

from koepon.gacha.odds.model import RevenueShareLine

WHOLE_BP = 10_000
MAX_PARTIES = 5

_LINES = TypeAdapter(tuple[RevenueShareLine, ...])


def parse_shares(raw: Mapping[str, Any]) -> tuple[tuple[RevenueShareLine, ...], list[str]]:
    """The raw configuration's ``revenue_shares`` (empty when absent) and what is malformed."""
    value = raw.get("revenue_shares")
    if value is None:
        return (), []
    try:
        return _LINES.validate_python(value), []
    except ValidationError as error:
        problems = []
        for found in error.errors():
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in found["loc"])
            problems.append(f"revenue_shares{where}: {found['msg']}")
        return (), problems


def share_problems(owner: str, shares: Sequence[RevenueShareLine]) -> list[str]:
    """What is wrong with a split of the gacha of VTuber ``owner`` (empty: nothing, or solo)."""
    if not shares:
        return []
    problems = []
    ids = [line.vtuber_id for line in shares]
    if owner not in ids:
        problems.append(f"revenue_shares must include the gacha's own VTuber {owner}")
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        problems.append(f"each VTuber is listed once; listed twice: {', '.join(twice)}")
    if len(shares) > MAX_PARTIES:
        problems.append(f"a collab has at most {MAX_PARTIES} VTubers, not {len(shares)}")
    for index, line in enumerate(shares):
        if line.share_bp <= 0:
            problems.append(f"revenue_shares[{index}].share_bp must be positive")
    total = sum(line.share_bp for line in shares)
    if total != WHOLE_BP:
        problems.append(f"the shares sum to {total} bp; they must sum to {WHOLE_BP} (100%)")
    return problems


def parties(shares: Sequence[RevenueShareLine]) -> frozenset[str]:
    return frozenset(line.vtuber_id for line in shares)
