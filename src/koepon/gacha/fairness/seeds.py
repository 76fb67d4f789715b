"""Seed pairs: server seeds and their commitments, client seed rules (algorithm version 1)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

from koepon.gacha.errors import InvalidClientSeed

SERVER_SEED_BYTES = 32
CLIENT_SEED_MAX = 64
# Printable ASCII without whitespace control characters: space (0x20) through tilde (0x7E).
_PRINTABLE = frozenset(chr(c) for c in range(0x20, 0x7F))
_DEFAULT_ALPHABET = string.ascii_letters + string.digits


def new_server_seed() -> bytes:
    """32 bytes from the operating system's CSPRNG."""
    return secrets.token_bytes(SERVER_SEED_BYTES)


def commitment(server_seed: bytes) -> str:
    """The published commitment: the lowercase hex SHA-256 of the seed bytes."""
    return hashlib.sha256(server_seed).hexdigest()


def matches_commitment(server_seed: bytes, server_seed_hash: str) -> bool:
    return hmac.compare_digest(commitment(server_seed), server_seed_hash)


def client_seed_problem(client_seed: str) -> str | None:
    """Why ``client_seed`` is not acceptable, or None: 1–64 printable ASCII characters."""
    if not 1 <= len(client_seed) <= CLIENT_SEED_MAX:
        return f"a client seed has 1 to {CLIENT_SEED_MAX} characters, not {len(client_seed)}"
    bad = sorted({c for c in client_seed if c not in _PRINTABLE})
    if bad:
        return "a client seed holds printable ASCII only; not " + ", ".join(map(repr, bad))
    return None


def check_client_seed(client_seed: str) -> str:
    """``client_seed`` if it is acceptable, else ``InvalidClientSeed`` saying why."""
    problem = client_seed_problem(client_seed)
    if problem is not None:
        raise InvalidClientSeed(problem, field="client_seed")
    return client_seed


def new_client_seed() -> str:
    """The default client seed: 16 random letters and digits."""
    return "".join(secrets.choice(_DEFAULT_ALPHABET) for _ in range(16))
