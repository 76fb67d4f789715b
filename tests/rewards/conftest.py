"""Rewards test fixtures: the rewards unit's context and services on the running platform."""

from __future__ import annotations

from koepon.app import Platform
from koepon.rewards.context import RewardsContext
from koepon.rewards.services import RewardsServices
from koepon.rewards.unit import RewardsUnit


def rewards_unit(platform: Platform) -> RewardsUnit:
    unit = platform.units["rewards"]
    assert isinstance(unit, RewardsUnit)
    return unit


def rewards_context(platform: Platform) -> RewardsContext:
    ctx = rewards_unit(platform).context
    assert ctx is not None
    return ctx


def rewards_services(platform: Platform) -> RewardsServices:
    services = rewards_unit(platform).services
    assert services is not None
    return services
