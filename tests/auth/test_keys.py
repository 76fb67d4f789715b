"""The signing key: RFC 7638 key id, dev key kept once under data_dir, production needs a key."""

from __future__ import annotations

import base64
import stat
from datetime import UTC, datetime

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from koepon.auth.keys import DEV_KEY_FILE, AccessTokens, SigningKey, load_signing_key
from koepon.kernel.settings import Settings

# RFC 8037 appendix A.1 key and its RFC 7638 thumbprint (A.3).
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def rfc8037_key() -> SigningKey:
    raw = base64.urlsafe_b64decode(RFC8037_D + "=")
    return SigningKey(Ed25519PrivateKey.from_private_bytes(raw))


def pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_key_id_is_the_rfc7638_thumbprint() -> None:
    key = rfc8037_key()
    assert key.public_jwk()["x"] == RFC8037_X
    assert key.kid == RFC8037_THUMBPRINT


def test_dev_key_is_generated_once_and_kept_private(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(environment="development", data_dir=tmp_path)
    first = load_signing_key(settings)
    path = tmp_path / DEV_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_signing_key(settings).kid == first.kid


def test_configured_key_is_used(tmp_path) -> None:  # type: ignore[no-untyped-def]
    private = Ed25519PrivateKey.from_private_bytes(base64.urlsafe_b64decode(RFC8037_D + "="))
    settings = Settings(environment="production", data_dir=tmp_path, jwt_private_key=pem(private))
    assert load_signing_key(settings).kid == RFC8037_THUMBPRINT
    assert not (tmp_path / DEV_KEY_FILE).exists()


def test_production_without_a_key_refuses_to_start(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError, match="KOEPON_JWT_PRIVATE_KEY"):
        load_signing_key(Settings(environment="production", data_dir=tmp_path))


def test_a_non_ed25519_key_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.asymmetric import ec

    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(RuntimeError, match="Ed25519"):
        load_signing_key(Settings(data_dir=tmp_path, jwt_private_key=other.decode()))


def test_issued_tokens_verify_with_the_published_jwk() -> None:
    key = rfc8037_key()
    tokens = AccessTokens(key, issuer="iss", audience="aud", lifetime_seconds=900)
    token = tokens.issue(
        user_id="u1", session_id="s1", roles=["vtuber", "fan"], now=datetime.now(UTC)
    )
    public = jwt.PyJWK.from_dict(key.public_jwk()).key
    claims = jwt.decode(token, public, algorithms=["EdDSA"], audience="aud", issuer="iss")
    assert claims["roles"] == ["fan", "vtuber"]
    assert claims["typ"] == "access" and claims["sid"] == "s1"
