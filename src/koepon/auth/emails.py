"""The one normal form of an email address, used by sign-up, sign-in and password reset.

Look-alikes must not become separate accounts: the address is NFKC-normalised (full-width
``ｆａｎ＠…`` is ``fan@…``), the domain IDNA-encoded (UTS #46, so any spelling of one domain is
one ASCII form) and the local part lowercased; a local part mixing scripts (a Cyrillic ``а``
among Latin letters) is refused, as UTS #39 "highly restrictive" identifiers do.
"""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email

MAX_LENGTH = 254
# Japanese writing mixes these legitimately (UTS #39 "Highly Restrictive" allows the set).
JAPANESE_SCRIPTS = frozenset({"LATIN", "CJK", "HIRAGANA", "KATAKANA"})


class EmailRefused(ValueError):
    """The text is not an address Koepon accepts; the message says why."""


def script_of(char: str) -> str | None:
    """The script of a letter, by its Unicode name (``None`` for digits, marks, symbols)."""
    if not unicodedata.category(char).startswith("L"):
        return None
    name = unicodedata.name(char, "")
    if name.startswith(("KATAKANA-HIRAGANA", "HALFWIDTH KATAKANA")):
        return "KATAKANA"
    return name.split(" ", 1)[0] or None


def scripts_in(text: str) -> set[str]:
    return {script for script in map(script_of, text) if script is not None}


def mixed_script(text: str) -> bool:
    scripts = scripts_in(text)
    return len(scripts) > 1 and not scripts <= JAPANESE_SCRIPTS


def normalise_email(value: str) -> str:
    """The stored, compared form of ``value``; raises ``EmailRefused``."""
    text = unicodedata.normalize("NFKC", value).strip()
    if not text or len(text) > MAX_LENGTH:
        raise EmailRefused(f"An email address has 1 to {MAX_LENGTH} characters")
    try:
        # Deliverability needs DNS; sign-up must not depend on the network.
        parsed = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise EmailRefused(str(exc)) from exc
    local = parsed.local_part.lower()
    if mixed_script(local):
        raise EmailRefused("The part before @ mixes letters of different scripts")
    domain = (parsed.ascii_domain or parsed.domain).lower()
    address = f"{local}@{domain}"
    if len(address) > MAX_LENGTH:
        raise EmailRefused(f"An email address has 1 to {MAX_LENGTH} characters")
    return address


def email_key(value: str) -> str | None:
    """The normal form for look-ups (sign-in, reset): ``None`` when no account can have it."""
    try:
        return normalise_email(value)
    except EmailRefused:
        return None
