"""What a monitor of the public draw log runs: recompute the tree from the published entries
(``GET /api/v1/draw-log/leaves``) and compare it with a signed checkpoint (opened with the log's
key, ``GET /api/v1/draw-log/key``).

A draw edited, deleted or moved after a checkpoint was signed changes the recomputed root, so
the check fails; a rewrite that keeps the entries consistent would need a new signature over a
tree that is no extension of the old one, which a consistency proof from any saved checkpoint
exposes. Pure: the standard library and the RFC 9162 hashing only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from koepon.gacha.transparency.merkle import MemoryLog


def entries_root(leaves: Iterable[str]) -> tuple[int, bytes]:
    """(size, RFC 9162 root hash) of the tree of these leaves, in order."""
    tree = MemoryLog()
    for leaf in leaves:
        tree.append(leaf.encode("utf-8"))
    return tree.size, tree.root()


def _canonical(leaf: str) -> str | None:
    try:
        record = json.loads(leaf)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def audit_entries(size: int, root_hash: bytes, entries: Sequence[tuple[int, str]]) -> list[str]:
    """Every problem found checking a checkpoint (``size``, ``root_hash``) against the log's
    published entries ``(leaf_index, leaf)`` from index 0; an empty list when they match."""
    problems: list[str] = []
    indexes = [index for index, _ in entries]
    if indexes != list(range(size)):
        missing = sorted(set(range(size)) - set(indexes))[:10]
        problems.append(
            f"the log publishes {len(indexes)} entries for a checkpoint of {size}"
            + (f"; missing indexes {missing}" if missing else "")
            + ("" if indexes == sorted(indexes) else "; entries out of order")
        )
    draws: dict[str, int] = {}
    for index, leaf in entries:
        if _canonical(leaf) != leaf:
            problems.append(f"entry {index} is not a canonical JSON record")
            continue
        draw_id = str(json.loads(leaf).get("draw_id"))
        if draw_id in draws:
            problems.append(f"entry {index} logs draw {draw_id} again (entry {draws[draw_id]})")
        draws.setdefault(draw_id, index)
    recomputed_size, root = entries_root(leaf for _, leaf in entries)
    if recomputed_size != size or root != root_hash:
        problems.append(
            f"the tree recomputed from the published entries ({recomputed_size} leaves) does not "
            f"match the signed checkpoint of size {size}"
        )
    return problems
