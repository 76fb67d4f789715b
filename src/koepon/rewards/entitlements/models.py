"""The entitlements tables, on the rewards service's one ``Base``."""

from __future__ import annotations

from koepon.rewards.models import Base  # noqa: F401
