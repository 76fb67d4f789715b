"""The public draw log: an RFC 9162 Merkle tree with C2SP checkpoints (signed tree heads)."""
