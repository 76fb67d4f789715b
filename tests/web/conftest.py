"""Pages under a real server with the demo data (``seeded``, in ``tests/conftest.py``): a
browser-like client keeps cookies."""

from __future__ import annotations

from typing import Any

import pytest

from koepon.kernel.settings import Settings


@pytest.fixture
def settings(settings: Settings, listener: Any) -> Settings:
    port = listener.getsockname()[1]
    served = settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    return served.with_service_settings("payment", sandbox_webhook_transport="http")
