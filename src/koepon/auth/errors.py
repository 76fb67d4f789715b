"""Typed refusals of the auth service; ``kernel/problems.py`` maps them to RFC 9457 problems."""

from __future__ import annotations

from typing import Any

from koepon.kernel.errors import Conflict, DomainError, NotFound


class EmailTaken(Conflict):
    code = "email_taken"


class EmailInvalid(DomainError):
    status = 422
    code = "email_invalid"


class BirthdateInvalid(DomainError):
    status = 422
    code = "birthdate_invalid"


class PasswordTooWeak(DomainError):
    status = 422
    code = "password_too_weak"


class UserNotFound(NotFound):
    code = "user_not_found"


class InvalidCredentials(DomainError):
    status = 401
    code = "invalid_credentials"


class Unauthenticated(DomainError):
    """The token is fine but its account or session is gone (same code as the token checks)."""

    status = 401
    code = "unauthenticated"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(
            detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}, **extra
        )


class LoginThrottled(DomainError):
    status = 429
    code = "login_throttled"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "Too many sign-in attempts; wait before trying again",
            headers={"Retry-After": str(retry_after)},
            retry_after=retry_after,
        )


class RefreshTokenReused(DomainError):
    status = 401
    code = "refresh_token_reused"


class RefreshTokenInvalid(DomainError):
    status = 401
    code = "refresh_token_invalid"


class TokenInvalid(DomainError):
    """A mailed one-time token (verification, reset) that is unknown, expired or used."""

    status = 400
    code = "token_invalid"


class OwnAdminRole(Conflict):
    code = "own_admin_role"


class AccountSuspended(DomainError):
    status = 403
    code = "account_suspended"


class OwnAccount(DomainError):
    status = 422
    code = "own_account"


class StaffAccount(DomainError):
    """Support may suspend fans and VTubers; only an admin suspends an operator's account."""

    status = 403
    code = "staff_account"
