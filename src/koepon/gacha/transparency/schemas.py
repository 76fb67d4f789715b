"""Draw-log answers: inclusion and consistency proofs, published entries."""

from __future__ import annotations

from pydantic import BaseModel, Field


class InclusionProof(BaseModel):
    """A draw's place in the log (API.md ``GET /draws/{id}/proof``): the leaf is the exact
    canonical JSON hashed, the proof is RFC 9162's audit path (nearest sibling first) and the
    checkpoint the signed note of size ``tree_size`` it is proven against."""

    leaf_index: int
    tree_size: int
    leaf: str
    proof: list[str] = Field(description="base64 SHA-256 hashes, nearest sibling first")
    checkpoint: str


class ConsistencyProof(BaseModel):
    """RFC 9162 §2.1.4: the log of ``second`` entries is the log of ``first`` entries, grown."""

    first: int
    second: int
    proof: list[str] = Field(description="base64 SHA-256 hashes")


class LogEntry(BaseModel):
    leaf_index: int
    leaf: str = Field(description="the draw record as canonical JSON: the exact bytes hashed")


class LogEntries(BaseModel):
    """Entries ``start`` … ``end - 1`` of the log, in order, so anyone can recompute the tree."""

    start: int
    end: int
    entries: list[LogEntry]
