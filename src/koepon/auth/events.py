"""Events the auth service publishes (defined in contracts) and consumes (none yet)."""

from __future__ import annotations

from koepon.contracts.auth import AccountRegistered

PUBLISHES = (AccountRegistered,)
