"""How the payment service refuses unsafe production settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from koepon.app import Platform
from koepon.kernel.settings import Settings
from payment.fixtures.shop import payment_services


def test_the_sandbox_provider_never_runs_in_production(tmp_path: Path) -> None:
    settings = Settings(environment="production", data_dir=tmp_path).with_service_settings(
        "payment", payment_providers=["sandbox"], sandbox_webhook_secret="x" * 40
    )
    with pytest.raises(RuntimeError, match="sandbox provider never runs in production"):
        Platform(settings, services=("payment",))


def test_the_sandbox_provider_runs_outside_production(tmp_path: Path) -> None:
    settings = Settings(environment="development", data_dir=tmp_path)
    platform = Platform(settings, services=("payment",))
    assert "sandbox" in payment_services(platform).providers
