"""The auth service's Ed25519 signing key, its JWKS, and access-token issuance."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from koepon.kernel.settings import Settings
from koepon.kernel.tokens import ALGORITHM

DEV_KEY_FILE = Path("keys") / "auth-ed25519.pem"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class SigningKey:
    """An Ed25519 key pair; ``kid`` is its RFC 7638 JWK thumbprint."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self.private_key = private_key
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self._x = _b64url(raw)
        # RFC 7638: required members only, lexicographic order, no whitespace.
        canonical = json.dumps(
            {"crv": "Ed25519", "kty": "OKP", "x": self._x}, separators=(",", ":"), sort_keys=True
        )
        self.kid = _b64url(hashlib.sha256(canonical.encode()).digest())

    def public_jwk(self) -> dict[str, str]:
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": self._x,
            "kid": self.kid,
            "use": "sig",
            "alg": ALGORITHM,
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk()]}

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def _from_pem(pem: bytes) -> SigningKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise RuntimeError("KOEPON_JWT_PRIVATE_KEY must be an Ed25519 private key (PEM)")
    return SigningKey(key)


def load_signing_key(settings: Settings) -> SigningKey:
    """The configured key; outside production, one generated once and kept under data_dir."""
    if settings.jwt_private_key is not None:
        return _from_pem(settings.jwt_private_key.get_secret_value().encode())
    if settings.environment == "production":
        raise RuntimeError("KOEPON_JWT_PRIVATE_KEY is required in production")
    path = settings.data_dir / DEV_KEY_FILE
    if path.exists():
        return _from_pem(path.read_bytes())
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        # O_EXCL: if another process created it first, use that one.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _from_pem(path.read_bytes())
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return SigningKey(key)


class AccessTokens:
    """Signs short-lived access tokens with the claims every verifier expects."""

    def __init__(self, key: SigningKey, *, issuer: str, audience: str, lifetime_seconds: int):
        self.key = key
        self.issuer = issuer
        self.audience = audience
        self.lifetime = timedelta(seconds=lifetime_seconds)

    def issue(self, *, user_id: str, session_id: str, roles: list[str], now: datetime) -> str:
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user_id,
            "sid": session_id,
            "roles": sorted(roles),
            "typ": "access",
            "iat": int(now.timestamp()),
            "exp": int((now + self.lifetime).timestamp()),
        }
        return jwt.encode(
            claims, self.key.private_key, algorithm=ALGORITHM, headers={"kid": self.key.kid}
        )
