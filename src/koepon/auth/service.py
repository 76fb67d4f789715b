"""The auth service's use cases, one class made of the parts that hold them.

``accounts`` (sign-up, the owner's view, operator changes) and ``suspension`` (operators
suspend and reinstate accounts), ``signin`` (password sign-in,
refresh rotation, sign-out), ``recovery`` (mailed links: email verification, password reset)
and ``spending`` (self-set limits, COMPLIANCE A3); the shared parts are in ``core``. Every use
case takes the unit-of-work session it runs in (except ``refresh``, which runs its own), raises
the typed errors of ``auth.errors`` and returns schemas.
"""

from __future__ import annotations

from typing import Any

from koepon.auth.recovery import MailedLinks
from koepon.auth.signin import SignIn
from koepon.auth.spending import Spending
from koepon.auth.suspension import Suspension


class AuthService(Suspension, SignIn, MailedLinks, Spending):
    def jwks(self) -> dict[str, Any]:
        return self.access_tokens.key.jwks()


__all__ = ["AuthService"]
