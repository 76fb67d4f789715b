"""The draw log's Merkle tree, exactly as RFC 9162 §2.1 defines it (SHA-256).

Leaf hash = SHA-256(0x00 || leaf), node hash = SHA-256(0x01 || left || right). The log stores
the hash of every *complete* subtree, addressed by (level, index): the subtree of 2^level leaves
starting at leaf index × 2^level. Every tree hash and proof is computed from those through a
``NodeLookup`` function, so a repository can back the log with a table of stored hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

HASH_SIZE = 32
NodeLookup = Callable[[int, int], bytes]  # (level, index) -> hash of a complete subtree


class ProofError(ValueError):
    """A proof was asked for sizes or indexes the tree does not have."""


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def empty_root() -> bytes:
    return hashlib.sha256(b"").digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def new_nodes(index: int, leaf: bytes, lookup: NodeLookup) -> list[tuple[int, int, bytes]]:
    """The complete subtrees that appending ``leaf`` at ``index`` creates, leaf level first."""
    current = leaf_hash(leaf)
    created = [(0, index, current)]
    level, at = 0, index
    while at & 1:
        current = node_hash(lookup(level, at - 1), current)
        level, at = level + 1, at >> 1
        created.append((level, at, current))
    return created


def subtree_hash(start: int, end: int, lookup: NodeLookup) -> bytes:
    """MTH(D[start:end]) for a non-empty range, from stored complete subtrees."""
    n = end - start
    if n <= 0:
        raise ProofError("a subtree holds at least one leaf")
    if n & (n - 1) == 0 and start % n == 0:
        return lookup(n.bit_length() - 1, start // n)
    k = _split(n)
    return node_hash(subtree_hash(start, start + k, lookup), subtree_hash(start + k, end, lookup))


def tree_hash(size: int, lookup: NodeLookup) -> bytes:
    """The root hash of the first ``size`` leaves (the hash of nothing for an empty tree)."""
    return empty_root() if size == 0 else subtree_hash(0, size, lookup)


def inclusion_proof(index: int, size: int, lookup: NodeLookup) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, nearest sibling first."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")

    def path(m: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = _split(n)
        if m < k:
            return [*path(m, start, start + k), subtree_hash(start + k, end, lookup)]
        return [*path(m - k, start + k, end), subtree_hash(start, start + k, lookup)]

    return path(index, 0, size)


def consistency_proof(first: int, second: int, lookup: NodeLookup) -> list[bytes]:
    """PROOF(first, D[0:second]) of RFC 9162 §2.1.4.1 (empty when nothing needs proving)."""
    if not 0 <= first <= second:
        raise ProofError(f"no consistency proof from size {first} to size {second}")
    if first in (0, second):
        return []

    def subproof(m: int, start: int, end: int, complete: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if complete else [subtree_hash(start, end, lookup)]
        k = _split(n)
        if m <= k:
            return [*subproof(m, start, start + k, complete), subtree_hash(start + k, end, lookup)]
        return [*subproof(m - k, start + k, end, False), subtree_hash(start, start + k, lookup)]

    return subproof(first, 0, second, True)


def verify_inclusion(
    leaf_digest: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` put the leaf hash at ``index`` under ``root``?"""
    if not 0 <= index < size or any(len(p) != HASH_SIZE for p in proof):
        return False
    fn, sn, r = index, size - 1, leaf_digest
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree of ``second`` leaves an append-only extension?"""
    if not 0 <= first <= second or any(len(p) != HASH_SIZE for p in proof):
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first_root and sr == second_root


class MemoryLog:
    """A log held in memory (tests, tools); a repository stores the same (level, index) hashes."""

    def __init__(self) -> None:
        self._nodes: dict[tuple[int, int], bytes] = {}
        self.size = 0

    def lookup(self, level: int, index: int) -> bytes:
        return self._nodes[(level, index)]

    def append(self, leaf: bytes) -> int:
        """Append a leaf; its index."""
        index = self.size
        for level, at, digest in new_nodes(index, leaf, self.lookup):
            self._nodes[(level, at)] = digest
        self.size += 1
        return index

    @property
    def stored_hashes(self) -> int:
        return len(self._nodes)

    def root(self, size: int | None = None) -> bytes:
        return tree_hash(self.size if size is None else size, self.lookup)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(index, self.size if size is None else size, self.lookup)

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        return consistency_proof(first, self.size if second is None else second, self.lookup)
