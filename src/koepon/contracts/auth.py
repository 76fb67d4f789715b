"""Events published by the auth service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from koepon.contracts import Event


class AccountRegistered(Event):
    """A new account exists. Carries no birth date (COMPLIANCE R5)."""

    topic = "auth.account.registered.v1"
    user_id: str
    display_name: str
    roles: list[str]
    registered_at: datetime


class SpendingProfile(BaseModel):
    """What payment and gacha need to enforce COMPLIANCE A1–A3 for one fan.

    The birth date leaves the auth service only for A1–A2 checks (R5). Caps are those in force
    now (a raised self-set cap takes effect 7 days after the request, a lowered one at once).
    """

    model_config = ConfigDict(frozen=True)
    user_id: str
    birthdate: date | None
    monthly_purchase_cap_jpy: int | None = None
    monthly_draw_cap_medals: int | None = None
    cooling_off_until: datetime | None = None


class AccountNotFound(Exception):
    """The user id names no account."""


class SessionState(BaseModel):
    """Whether a sign-in session is live for the user, as the auth service's record says."""

    model_config = ConfigDict(frozen=True)
    alive: bool


class SessionRecords(Protocol):
    """What the gateway asks the owner of sessions when the cache has no copy of one (the
    owner copies a live session back into the cache as it answers)."""

    async def session_alive(self, session_id: str, user_id: str) -> bool: ...


class VerifiedEmail(BaseModel):
    """An account's email address if it has verified it (None: unverified or no account)."""

    model_config = ConfigDict(frozen=True)
    email: str | None


class DisplayName(BaseModel):
    """An account's public display name (None: no such account)."""

    model_config = ConfigDict(frozen=True)
    display_name: str | None


class AuthAccounts(SessionRecords, Protocol):
    """What other services may ask the auth service synchronously."""

    async def jwks(self) -> dict[str, Any]: ...

    async def spending_profile(self, user_id: str) -> SpendingProfile: ...

    async def verified_email(self, user_id: str) -> str | None:
        """The account's (normalised, lowercased) email once the account has verified it; None
        for an unverified address or no such account (the VTuber service matches team
        invitations against it)."""
        ...

    async def display_name(self, user_id: str) -> str | None:
        """The account's public display name; None for no such account (the gateway shows it
        on a VTuber's stream overlay for a fan who opted in)."""
        ...
