"""The provably fair RNG, algorithm version 1: HMAC-SHA256 stream → unbiased table pick.

For a slot with nonce n the randomness is HMAC-SHA256(server seed, "{client_seed}:{n}:{round}")
for round = 0, 1, 2, …, each read as eight big-endian uint32. The first u with
u < 2³² − (2³² mod W) gives r = u mod W, and the outcome is the first line whose cumulative
weight exceeds r. Rejection removes modulo bias; no floating point anywhere.
"""

from __future__ import annotations

import hmac
import struct
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate

ALGORITHM_VERSION = 1
SPACE = 2**32
_EIGHT_UINT32 = struct.Struct(">8I")


def slot_stream(server_seed: bytes, client_seed: str, nonce: int) -> Iterator[int]:
    """The endless stream of uint32 for one slot."""
    if nonce < 0:
        raise ValueError("a nonce is never negative")
    prefix = f"{client_seed}:{nonce}:"
    round_ = 0
    while True:
        block = hmac.digest(server_seed, f"{prefix}{round_}".encode("ascii"), "sha256")
        yield from _EIGHT_UINT32.unpack(block)
        round_ += 1


def acceptance_limit(total: int) -> int:
    """Values at or above this are rejected: the largest multiple of W not above 2³²."""
    if not 1 <= total <= SPACE:
        raise ValueError(f"a table's total weight must be between 1 and 2^32, not {total}")
    return SPACE - SPACE % total


@dataclass(frozen=True)
class PreparedTable:
    """A table's running totals, computed once and reused for every slot drawn from it."""

    cumulative: tuple[int, ...]
    total: int
    limit: int

    @classmethod
    def of(cls, weights: Sequence[int]) -> PreparedTable:
        if not weights or any(weight < 0 for weight in weights):
            raise ValueError("a table has lines and its weights are never negative")
        cumulative = tuple(accumulate(weights))
        return cls(cumulative, cumulative[-1], acceptance_limit(cumulative[-1]))

    def pick(self, stream: Iterator[int]) -> int:
        """The first line whose cumulative weight exceeds r = u mod W, for the first accepted u."""
        for u in stream:
            if u < self.limit:
                return bisect_right(self.cumulative, u % self.total)
        raise AssertionError("the stream is endless")  # pragma: no cover


def pick(weights: Sequence[int], stream: Iterator[int]) -> int:
    """The index of the line the stream selects from a table of integer weights."""
    return PreparedTable.of(weights).pick(stream)


def draw_slot(
    server_seed: bytes, client_seed: str, nonce: int, table: Sequence[int] | PreparedTable
) -> int:
    """The outcome (a line index) of the slot with this nonce, drawn from ``table``."""
    prepared = table if isinstance(table, PreparedTable) else PreparedTable.of(table)
    if nonce < 0:
        raise ValueError("a nonce is never negative")
    # slot_stream inlined: this is the hot path of every draw (and of the million-draw test).
    prefix = f"{client_seed}:{nonce}:"
    limit, total, cumulative = prepared.limit, prepared.total, prepared.cumulative
    round_ = 0
    while True:
        block = hmac.digest(server_seed, f"{prefix}{round_}".encode("ascii"), "sha256")
        for u in _EIGHT_UINT32.unpack(block):
            if u < limit:
                return bisect_right(cumulative, u % total)
        round_ += 1
