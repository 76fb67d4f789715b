"""Serving on any port keeps purchases working: the public URL (hosted-page links) follows what
``koepon serve`` binds unless KOEPON_PUBLIC_URL says otherwise, and the sandbox's webhooks reach
the running platform."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from koepon.cli import serve_settings
from koepon.kernel.settings import Settings
from koepon.payment.settings import load as payment_settings
from koepon.seed import DEMO_PASSWORD
from process_stack import free_port


def test_the_public_url_follows_the_bound_address_unless_set() -> None:
    bare = Settings(environment="test")
    served = serve_settings(bare, host="127.0.0.1", port=9123)
    assert served.public_url == "http://127.0.0.1:9123"
    assert (
        payment_settings(served).sandbox_webhook_url
        == "http://127.0.0.1:9123/api/v1/webhooks/sandbox"
    )
    wildcard = serve_settings(bare, host="0.0.0.0", port=9000)
    assert wildcard.public_url == "http://127.0.0.1:9000"

    chosen = Settings(environment="test", public_url="https://koepon.example")
    behind_proxy = serve_settings(chosen, host="0.0.0.0", port=8080)
    assert behind_proxy.public_url == "https://koepon.example"
    # The webhook still goes to this process, whatever the public address is.
    assert (
        payment_settings(behind_proxy).sandbox_webhook_url
        == "http://127.0.0.1:8080/api/v1/webhooks/sandbox"
    )

    # One service alone sits behind a gateway: only the environment knows the public URL.
    payment_only = serve_settings(bare, host="127.0.0.1", port=8001, service="payment")
    assert payment_only.public_url == bare.public_url
    assert (
        payment_settings(payment_only).sandbox_webhook_url
        == "http://127.0.0.1:8001/api/v1/webhooks/sandbox"
    )


@pytest.fixture
def koepon_serve(tmp_path: Path) -> Iterator[str]:
    """``koepon serve --seed --port <random>`` in its own process; yields its address."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOEPON_")}
    env.update(KOEPON_DATA_DIR=str(tmp_path / "data"), KOEPON_ENVIRONMENT="development")
    koepon = Path(sys.executable).parent / "koepon"
    process = subprocess.Popen(
        [str(koepon), "serve", "--seed", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, "koepon serve exited"
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "koepon serve did not start"
            time.sleep(0.2)  # waiting for a server process to listen, not for an outcome
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_a_fan_buys_medals_from_koepon_serve_on_a_random_port(koepon_serve: str) -> None:
    with httpx.Client(base_url=koepon_serve, timeout=30) as http:
        login = http.post(
            "/api/v1/auth/login", json={"email": "fan@demo.koepon.jp", "password": DEMO_PASSWORD}
        )
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        before = http.get("/api/v1/wallet", headers=auth).json()["paid_medals"]
        pack = min(http.get("/api/v1/medal-packs").json(), key=lambda p: p["price_jpy"])
        made = http.post(
            "/api/v1/checkouts",
            json={"pack_id": pack["id"], "provider": "sandbox"},
            headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert made.status_code == 201, made.text
        page_url = made.json()["redirect_url"]
        assert page_url.startswith(f"{koepon_serve}/sandbox/checkouts/")  # the bound port
        assert http.get(page_url).status_code == 200

        paid = http.post(f"{page_url}/complete", json={"outcome": "succeeded"})
        assert paid.status_code == 200 and paid.json()["webhook_status"] == 200, paid.text
        status = http.get(f"/api/v1/checkouts/{made.json()['id']}", headers=auth).json()
        assert status["status"] == "succeeded"
        after = http.get("/api/v1/wallet", headers=auth).json()["paid_medals"]
        assert after == before + pack["paid_medals"]
