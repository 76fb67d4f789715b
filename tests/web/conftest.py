"""Pages under a real server with the demo data: a browser-like client keeps cookies."""

from __future__ import annotations

from typing import Any

import pytest

from koepon.app import Platform
from koepon.kernel.settings import Settings
from koepon.seed import seed_demo


@pytest.fixture
def settings(settings: Settings, listener: Any) -> Settings:
    port = listener.getsockname()[1]
    served = settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    return served.with_service_settings("payment", sandbox_webhook_transport="http")


@pytest.fixture
async def seeded(platform: Platform) -> Platform:
    await seed_demo(platform)
    return platform
