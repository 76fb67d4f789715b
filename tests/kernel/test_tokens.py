"""Access-token verification survives an auth outage: known keys stay valid (stale-if-error),
a key never seen while the JWKS is unreachable is a 503, not a 401 or a 500."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from koepon.kernel.problems import Problem
from koepon.kernel.tokens import TokenVerifier

from .probe import wait_until

ISSUER, AUDIENCE = "koepon-auth", "koepon"


class SigningKey:
    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = Ed25519PrivateKey.generate()

    def jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(OKPAlgorithm.to_jwk(self.private.public_key()))
        return jwk | {"kid": self.kid, "alg": "EdDSA", "use": "sig"}

    def token(self, user: str = "u1") -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": user,
            "sid": "s1",
            "typ": "access",
            "roles": [],
            "iat": now,
            "exp": now + 900,
        }
        return jwt.encode(claims, self.private, algorithm="EdDSA", headers={"kid": self.kid})


class Jwks:
    """The auth service's JWKS endpoint, which a test can take down and bring back."""

    def __init__(self, *keys: SigningKey) -> None:
        self.keys = list(keys)
        self.down = False
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if self.down:
            raise ConnectionRefusedError("auth unreachable")
        return {"keys": [k.jwk() for k in self.keys]}


def verifier(source: Jwks, refresh_seconds: int = 300) -> TokenVerifier:
    return TokenVerifier(source, issuer=ISSUER, audience=AUDIENCE, refresh_seconds=refresh_seconds)


async def test_known_keys_stay_valid_while_the_jwks_cannot_be_fetched() -> None:
    key = SigningKey("k1")
    source = Jwks(key)
    tokens = verifier(source, refresh_seconds=0)  # every use finds the keys stale
    try:
        assert (await tokens.verify(key.token())).user_id == "u1"
        source.down = True
        for _ in range(5):
            assert (await tokens.verify(key.token())).user_id == "u1"
        calls_while_down = source.calls
        await wait_until(lambda: _async(source.calls > calls_while_down), within=5)

        rotated = SigningKey("k2")
        source.keys.append(rotated)
        source.down = False
        # The background refetch lands by itself once auth answers again.
        await wait_until(lambda: _async("k2" in tokens._keys), within=10)
        assert (await tokens.verify(rotated.token("u2"))).user_id == "u2"
    finally:
        await tokens.close()


async def test_an_unknown_key_while_the_jwks_is_unreachable_is_503_not_401() -> None:
    known, unseen = SigningKey("k1"), SigningKey("k-new")
    source = Jwks(known)
    tokens = verifier(source)
    try:
        await tokens.verify(known.token())
        source.down = True
        tokens._attempted_at = float("-inf")  # the 10-second guard against garbage kids passed
        with pytest.raises(Problem) as refused:
            await tokens.verify(unseen.token())
        assert refused.value.status == 503
        assert refused.value.code == "dependency_unavailable"
        assert refused.value.extra["dependency"] == "auth"
        assert int(refused.value.headers["Retry-After"]) > 0
    finally:
        await tokens.close()


async def test_no_keys_yet_and_auth_down_is_503() -> None:
    source = Jwks(SigningKey("k1"))
    source.down = True
    tokens = verifier(source)
    try:
        with pytest.raises(Problem) as refused:
            await tokens.verify(SigningKey("k1").token())
        assert refused.value.status == 503
    finally:
        await tokens.close()


async def test_an_unknown_key_while_the_jwks_answers_is_401() -> None:
    source = Jwks(SigningKey("k1"))
    tokens = verifier(source)
    try:
        with pytest.raises(Problem) as refused:
            await tokens.verify(SigningKey("forged").token())
        assert refused.value.status == 401
        # Garbage kids do not make every request fetch the JWKS again.
        calls = source.calls
        for _ in range(5):
            with pytest.raises(Problem):
                await tokens.verify(SigningKey("forged-again").token())
        assert source.calls == calls
    finally:
        await tokens.close()


async def _async(value: bool) -> bool:
    await asyncio.sleep(0)
    return value


async def test_a_verified_token_is_remembered_briefly_and_never_past_its_expiry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 7: the gateway and then the service verified the same token on every request."""
    key = SigningKey("k1")
    source = Jwks(key)
    tokens = verifier(source)
    try:
        token = key.token()
        principal = await tokens.verify(token)
        # The key is withdrawn: a remembered token still passes without a signature check …
        source.keys = []
        tokens._keys = {}
        assert await tokens.verify(token) == principal
        # … but only for a short while: then it is verified again, and now refused.
        later = time.time() + 31
        monkeypatch.setattr("koepon.kernel.tokens.time.time", lambda: later)
        with pytest.raises(Problem) as refused:
            await tokens.verify(token)
        assert refused.value.status in (401, 503)
    finally:
        await tokens.close()
