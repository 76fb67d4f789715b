"""Overlay tokens: made, checked for shape, hashed and hinted (pure; no database).

The token is the whole credential of the overlay URL; only its SHA-256 is stored, so a leaked
database does not open any overlay. 32 random bytes make guessing hopeless, so a plain hash
(no salt, no slow KDF) is enough and lets the public route find the row by index.
"""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_BYTES = 32
# ``secrets.token_urlsafe(32)``: 43 characters of the URL-safe base64 alphabet, no padding.
TOKEN_LENGTH = 43
HINT_LENGTH = 4
URL_PREFIX = "/overlay/"
_SHAPE = re.compile(rf"[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}")


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def well_formed(token: str) -> bool:
    """Whether ``token`` could be one ``new_token`` made (checked before any query)."""
    return _SHAPE.fullmatch(token) is not None


def digest(token: str) -> str:
    """The hex SHA-256 kept in place of the token."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def hint(token: str) -> str:
    """The token's first characters: enough for a person to tell two URLs apart."""
    return token[:HINT_LENGTH]


def url_path(token: str) -> str:
    """The overlay page's path (the web app serves it; OBS opens it as a browser source)."""
    return URL_PREFIX + token


def masked_path(token_hint: str) -> str:
    return URL_PREFIX + token_hint + "…"
