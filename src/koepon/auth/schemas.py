"""Request and response bodies of the auth service's HTTP API."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from koepon.auth.age import AgeBracket
from koepon.auth.emails import normalise_email
from koepon.auth.passwords import MAX_LENGTH, MIN_LENGTH

Role = Literal["fan", "vtuber", "admin", "support", "compliance"]
ROLES: tuple[str, ...] = ("fan", "vtuber", "admin", "support", "compliance")
MAX_CAP = 100_000_000  # far above any real monthly budget; keeps values inside BIGINT and JSON


def _normalise_email(value: str) -> str:
    # One normaliser for sign-up, sign-in and reset (auth.emails); EmailRefused is a ValueError.
    return normalise_email(value)


def _display_name(value: str) -> str:
    value = unicodedata.normalize("NFC", value.strip())
    if not value:
        raise ValueError("Display name must not be blank")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value):
        raise ValueError("Display name must not contain control characters")
    return value


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date_only(value: object) -> object:
    # Pydantic would take numbers as Unix times; a birth date is only ever "YYYY-MM-DD".
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("Use a date in the form YYYY-MM-DD")
    return value


Email = Annotated[str, Field(max_length=254), AfterValidator(_normalise_email)]
Password = Annotated[str, Field(min_length=MIN_LENGTH, max_length=MAX_LENGTH)]
DisplayName = Annotated[str, Field(min_length=1, max_length=50), AfterValidator(_display_name)]
Birthdate = Annotated[date, BeforeValidator(_iso_date_only)]
OpaqueToken = Annotated[str, Field(min_length=16, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")]
CapJpy = Annotated[int | None, Field(ge=0, le=MAX_CAP, strict=True)]
CapMedals = Annotated[int | None, Field(ge=0, le=MAX_CAP, strict=True)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class SignupIn(Input):
    email: Email
    password: Password
    display_name: DisplayName
    birthdate: Birthdate


class LoginIn(Input):
    # Length-bounded but not validated: a malformed email simply fails like a wrong one.
    email: Annotated[str, Field(min_length=1, max_length=254)]
    password: Annotated[str, Field(min_length=1, max_length=MAX_LENGTH)]


class RefreshIn(Input):
    refresh_token: OpaqueToken


class LogoutIn(Input):
    refresh_token: OpaqueToken | None = None


class VerifyEmailIn(Input):
    token: OpaqueToken


class PasswordResetRequestIn(Input):
    email: Annotated[str, Field(min_length=1, max_length=254)]


class PasswordResetConfirmIn(Input):
    token: OpaqueToken
    new_password: Password


class LimitsIn(Input):
    """Both caps, each an integer or ``null`` for no cap (COMPLIANCE A3)."""

    monthly_purchase_cap_jpy: CapJpy
    monthly_draw_cap_medals: CapMedals


class CoolingOffIn(Input):
    days: Literal[7, 30, 90]


class BirthdateChangeIn(Input):
    birthdate: Birthdate
    reason: Annotated[str, Field(min_length=3, max_length=500)]


class SuspensionIn(Input):
    # Stripped first: a reason of blanks says nothing to whoever reads the record.
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]


class RolesIn(Input):
    roles: Annotated[list[Role], Field(min_length=1, max_length=len(ROLES))]


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int


class PendingLimit(BaseModel):
    name: Literal["monthly_purchase_cap_jpy", "monthly_draw_cap_medals"]
    value: int | None
    effective_at: datetime


class LimitsOut(BaseModel):
    """The caps in force now, raises still waiting, and any cooling-off pause."""

    monthly_purchase_cap_jpy: int | None
    monthly_draw_cap_medals: int | None
    pending: list[PendingLimit]
    cooling_off_until: datetime | None


class UserOut(BaseModel):
    """An account as its owner sees it. Never the birth date itself (COMPLIANCE R5)."""

    id: str
    email: str
    display_name: str
    roles: list[str]
    age_bracket: AgeBracket
    email_verified: bool


class MeOut(UserOut):
    limits: LimitsOut


class AdminUserOut(UserOut):
    created_at: datetime
    suspended_at: datetime | None = None
    suspended_reason: str | None = None


class BirthdateChangeOut(BaseModel):
    user_id: str
    age_bracket: AgeBracket
    changed_by: str
    changed_at: datetime


class MailOut(BaseModel):
    id: str
    to: str
    subject: str
    body: str
    delivered_at: datetime
