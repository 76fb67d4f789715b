"""Signed download tokens (pure): what verifies, and every way a token is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from koepon.rewards.downloads import tokens
from koepon.rewards.downloads.tokens import DownloadClaims, Kind, TokenExpired, TokenInvalid

KEY = tokens.derive_key(b"k" * 32, "token")
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CLAIMS = DownloadClaims(
    kind=Kind.ENTITLEMENT,
    download_id="0b7c2c1e-5d7a-4d7e-9a55-1f3e2a9c0001",
    subject_id="ent-1",
    user_id="fan-a",
    content_id="content-1",
    expires_at=int(NOW.timestamp()) + 300,
)


def _raw(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_a_signed_token_verifies_to_its_claims() -> None:
    token = tokens.sign(CLAIMS, KEY)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert tokens.verify(token, KEY, NOW) == CLAIMS
    export = replace(CLAIMS, kind=Kind.EXPORT, content_id="")
    assert tokens.verify(tokens.sign(export, KEY), KEY, NOW) == export


@pytest.mark.parametrize(
    "field, value",
    [
        ("download_id", "0b7c2c1e-5d7a-4d7e-9a55-1f3e2a9c0002"),
        ("subject_id", "ent-2"),
        ("user_id", "fan-b"),
        ("content_id", "content-2"),
        ("expires_at", int(NOW.timestamp()) + 86_400),
        ("kind", Kind.EXPORT),
    ],
)
def test_changing_any_claim_breaks_the_signature(field: str, value: object) -> None:
    """Each field re-encoded in the body with the original MAC kept: refused."""
    token = tokens.sign(CLAIMS, KEY)
    mac = _raw(token)[-32:]
    forged_body = _raw(tokens.sign(replace(CLAIMS, **{field: value}), KEY))[:-32]
    with pytest.raises(TokenInvalid) as refused:
        tokens.verify(_b64(forged_body + mac), KEY, NOW)
    assert refused.value.reason == "signature"


def test_flipping_any_byte_is_refused() -> None:
    raw = _raw(tokens.sign(CLAIMS, KEY))
    for index in range(len(raw)):
        flipped = bytearray(raw)
        flipped[index] ^= 0x01
        with pytest.raises(TokenInvalid):
            tokens.verify(_b64(bytes(flipped)), KEY, NOW)


def test_only_the_canonical_base64_spelling_is_accepted() -> None:
    token = tokens.sign(CLAIMS, KEY)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for other in alphabet.replace(token[-1], ""):
        with pytest.raises(TokenInvalid):  # same bytes or not, another spelling is refused
            tokens.verify(token[:-1] + other, KEY, NOW)


def test_another_key_is_refused() -> None:
    other = tokens.derive_key(b"x" * 32, "token")
    with pytest.raises(TokenInvalid):
        tokens.verify(tokens.sign(CLAIMS, other), KEY, NOW)
    # Keys are derived per purpose: the watermark sub-key does not sign URLs.
    with pytest.raises(TokenInvalid):
        tokens.verify(tokens.sign(CLAIMS, tokens.derive_key(b"k" * 32, "watermark")), KEY, NOW)


def test_expired_is_told_apart_from_invalid() -> None:
    token = tokens.sign(CLAIMS, KEY)
    later = datetime.fromtimestamp(CLAIMS.expires_at, UTC)
    with pytest.raises(TokenExpired) as expired:
        tokens.verify(token, KEY, later)
    assert expired.value.claims == CLAIMS
    assert tokens.verify(token, KEY, datetime.fromtimestamp(CLAIMS.expires_at - 1, UTC))


@pytest.mark.parametrize(
    "token",
    ["", "%%%%", "abc", "a" * 2000, "é" * 10, "YWJj=", "....", "a b", "a/b+c"],
)
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(TokenInvalid):
        tokens.verify(token, KEY, NOW)


def test_an_unknown_version_is_refused_even_when_signed() -> None:
    body = bytes([2]) + json.dumps(["e", "d", "s", "u", "c", 10**10]).encode()
    with pytest.raises(TokenInvalid) as refused:
        tokens.verify(tokens.seal(body, KEY), KEY, NOW)
    assert refused.value.reason == "version"


@pytest.mark.parametrize(
    "payload",
    [
        ["e", "d", "s", "u", "c"],  # a claim missing
        ["q", "d", "s", "u", "c", 10**10],  # unknown kind
        ["e", "d", "s", "u", "", 10**10],  # an entitlement without its content
        ["e", "", "s", "u", "c", 10**10],  # empty id
        ["e", "d", "s", "u", "c", "10"],  # expiry not an integer
        ["e", "d", "s", "u", "c", True],
        ["e", "d" * 65, "s", "u", "c", 10**10],  # id too long
        {"kind": "e"},
    ],
)
def test_signed_but_malformed_claims_are_refused(payload: object) -> None:
    body = bytes([tokens.VERSION]) + json.dumps(payload).encode()
    with pytest.raises(TokenInvalid) as refused:
        tokens.verify(tokens.seal(body, KEY), KEY, NOW)
    assert refused.value.reason == "claims"


def test_the_mac_is_hmac_sha256_of_the_body() -> None:
    raw = _raw(tokens.sign(CLAIMS, KEY))
    assert raw[-32:] == hmac.new(KEY, raw[:-32], hashlib.sha256).digest()
    assert raw[0] == tokens.VERSION
