"""Signed download tokens (pure: no I/O, no clock — the caller passes "now").

A token is ``base64url(body ‖ mac)`` without padding, where ``body`` is one version byte
followed by the compact JSON array of the claims and ``mac`` is HMAC-SHA256(key, body), 32
bytes. Version 1 claims, in order: kind (``e`` an entitlement's file, ``x`` an export archive),
download id, subject id (the entitlement or the export), user id, content id (empty for an
export), expiry (Unix seconds, UTC).

Checks, in order: well-formed base64url of a sane length → the MAC (constant-time) → the
version → the claims' shape → the expiry. Anything before the expiry is "invalid" (403); a
genuine token past its expiry is "expired" (410).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

VERSION = 1
MAC_BYTES = 32
MAX_TOKEN_CHARS = 1024
MAX_ID_CHARS = 64


class Kind(StrEnum):
    ENTITLEMENT = "e"
    EXPORT = "x"


class TokenInvalid(Exception):
    """Not a token this service signed (malformed, tampered, unknown version)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TokenExpired(Exception):
    """A genuine token past its expiry."""

    def __init__(self, claims: DownloadClaims) -> None:
        super().__init__("expired")
        self.claims = claims


@dataclass(frozen=True)
class DownloadClaims:
    kind: Kind
    download_id: str
    subject_id: str  # the entitlement id, or the export id
    user_id: str
    content_id: str  # "" for an export
    expires_at: int  # Unix seconds

    @property
    def expires(self) -> datetime:
        return datetime.fromtimestamp(self.expires_at, UTC)


def derive_key(master: bytes, purpose: str) -> bytes:
    """A sub-key for one purpose (tokens, IP hashes, watermark seeds), so one secret never
    serves two uses directly."""
    return hmac.new(master, f"koepon-downloads:{purpose}".encode(), hashlib.sha256).digest()


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    if not text or len(text) > MAX_TOKEN_CHARS:
        raise TokenInvalid("length")
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise TokenInvalid("base64") from None
    if any(ch not in _ALPHABET for ch in raw):
        raise TokenInvalid("base64")
    try:
        decoded = base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
    except (binascii.Error, ValueError):
        raise TokenInvalid("base64") from None
    # Only the canonical spelling: unused low bits of the last character must be zero, so no
    # two different URLs carry the same token.
    if _b64encode(decoded) != text:
        raise TokenInvalid("base64")
    return decoded


_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def seal(body: bytes, key: bytes) -> str:
    """``body`` (version byte + payload) with its MAC, encoded: the token."""
    return _b64encode(body + hmac.new(key, body, hashlib.sha256).digest())


def sign(claims: DownloadClaims, key: bytes) -> str:
    payload = [
        claims.kind.value,
        claims.download_id,
        claims.subject_id,
        claims.user_id,
        claims.content_id,
        claims.expires_at,
    ]
    body = bytes([VERSION]) + json.dumps(payload, separators=(",", ":")).encode()
    return seal(body, key)


def _text(value: object, *, empty: bool = False) -> str:
    if not isinstance(value, str) or len(value) > MAX_ID_CHARS or (not value and not empty):
        raise TokenInvalid("claims")
    return value


def verify(token: str, key: bytes, now: datetime) -> DownloadClaims:
    """The token's claims; ``TokenInvalid`` or ``TokenExpired`` otherwise."""
    raw = _b64decode(token)
    if len(raw) <= MAC_BYTES + 1:
        raise TokenInvalid("length")
    body, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    if not hmac.compare_digest(mac, hmac.new(key, body, hashlib.sha256).digest()):
        raise TokenInvalid("signature")
    if body[0] != VERSION:
        raise TokenInvalid("version")
    try:
        payload = json.loads(body[1:])
    except (ValueError, UnicodeDecodeError):
        raise TokenInvalid("claims") from None
    if not isinstance(payload, list) or len(payload) != 6:
        raise TokenInvalid("claims")
    kind_raw, download_id, subject_id, user_id, content_id, expires_at = payload
    try:
        kind = Kind(kind_raw)
    except ValueError:
        raise TokenInvalid("claims") from None
    if not isinstance(expires_at, int) or isinstance(expires_at, bool) or expires_at < 0:
        raise TokenInvalid("claims")
    claims = DownloadClaims(
        kind=kind,
        download_id=_text(download_id),
        subject_id=_text(subject_id),
        user_id=_text(user_id),
        content_id=_text(content_id, empty=kind is Kind.EXPORT),
        expires_at=expires_at,
    )
    if now.timestamp() >= expires_at:
        raise TokenExpired(claims)
    return claims
