"""Building the auth service: production refuses dev conveniences."""

from __future__ import annotations

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from koepon.auth import unit
from koepon.contracts.clients import Clients
from koepon.kernel.cache import MemoryCache
from koepon.kernel.ratelimit import RateLimiter
from koepon.kernel.runtime import Runtime
from koepon.kernel.settings import Settings
from koepon.kernel.tokens import Authenticator, TokenVerifier


def runtime(settings: Settings) -> Runtime:
    async def no_keys() -> dict[str, object]:
        return {"keys": []}

    verifier = TokenVerifier(no_keys, issuer="i", audience="a")
    return Runtime(settings, MemoryCache(), RateLimiter(), Authenticator(verifier))


def key_pem() -> str:
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


async def test_production_serves_no_dev_mailbox(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(
        environment="production",
        data_dir=tmp_path,
        jwt_private_key=key_pem(),
        smtp_url="smtp://127.0.0.1:2525",
    )
    built = unit.build(runtime(settings), Clients())
    try:
        app = FastAPI()
        app.include_router(built.router)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as http:
            assert (await http.get("/dev/mailbox")).status_code == 404
            assert (await http.get("/dev/mailbox.json")).status_code == 404
            assert (await http.get("/.well-known/jwks.json")).status_code == 200
    finally:
        await built.db.dispose()


def test_production_without_smtp_refuses_to_start(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(environment="production", data_dir=tmp_path, jwt_private_key=key_pem())
    with pytest.raises(RuntimeError, match="SMTP"):
        unit.build(runtime(settings), Clients())


def test_production_without_a_signing_key_refuses_to_start(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(
        environment="production", data_dir=tmp_path, smtp_url="smtp://127.0.0.1:2525"
    )
    with pytest.raises(RuntimeError, match="JWT"):
        unit.build(runtime(settings), Clients())
