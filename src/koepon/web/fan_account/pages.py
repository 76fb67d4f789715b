"""The area's router: every page of the fan's money and account part (issue 12)."""

from __future__ import annotations

from fastapi import APIRouter

from koepon.kernel.routers import attach
from koepon.web.fan_account import account, fairness, purchase, vtubers, wallet

router = APIRouter(include_in_schema=False)
for part in (wallet, purchase, fairness, vtubers, account):
    attach(router, part.router)
