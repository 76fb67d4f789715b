"""Checks of what an applicant types (pure: no I/O). Each raises ``ValueError`` with a sentence
the 422 problem shows, or returns the normalised value that is stored.

- インボイス 登録番号 (COMPLIANCE R3): ``T`` + 13 digits whose first digit is the check digit of
  the 法人番号 rule (財務省令第70号 第2条): 9 − ((Σ Pn × Qn) mod 9) over the 12 other digits,
  Pn the n-th digit counted from the right, Qn 1 for odd n and 2 for even n.
- Bank account for 全銀 transfers: bank 4 digits, branch 3, type ordinary|current|savings,
  number 7 digits, holder in kana, stored as 全銀 half-width characters (uppercase ASCII,
  half-width katakana, digits, space and ``().-/``; small kana made full-size as banks do).
- Links and avatars: https URLs with a host, no credentials, no spaces.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

INVOICE_PATTERN = re.compile(r"^T[0-9]{13}$")
# The first day an invoice registration could take effect (適格請求書等保存方式 started).
INVOICE_FIRST_DAY = date(2023, 10, 1)
DISPLAY_NAME_MAX = 64
LEGAL_NAME_MAX = 100
BIO_MAX = 2000
URL_MAX = 500
MAX_CHANNEL_LINKS = 10
HOLDER_KANA_MAX = 30  # 受取人名 of the 全銀 record: 30 half-width characters
ACCOUNT_TYPES = ("ordinary", "current", "savings")
ZENGIN_CODES = {"ordinary": "1", "current": "2", "savings": "4"}


def check_digit(base12: str) -> int:
    """The 法人番号 check digit of 12 digits (also the first digit of an invoice number)."""
    total = sum(int(d) * (1 if n % 2 else 2) for n, d in enumerate(reversed(base12), start=1))
    return 9 - total % 9


def invoice_number(value: str) -> str:
    """``T`` + 13 digits with a correct check digit (full-width input and spaces are fixed)."""
    text = unicodedata.normalize("NFKC", value).replace(" ", "").replace("-", "").upper()
    if not INVOICE_PATTERN.match(text):
        raise ValueError("an invoice number is T followed by 13 digits (e.g. T1234567890123)")
    if int(text[1]) != check_digit(text[2:]):
        raise ValueError("this invoice number's check digit is wrong (a typo?)")
    return text


def invoice_registered_on(value: date, today: date) -> date:
    if value < INVOICE_FIRST_DAY:
        raise ValueError("invoice registrations take effect on 2023-10-01 at the earliest")
    if value > today:
        raise ValueError("the registration date is in the future")
    return value


def _printable(value: str, field: str) -> None:
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in value):
        raise ValueError(f"{field} holds control or invisible characters")


def display_name(value: str) -> str:
    text = unicodedata.normalize("NFC", value).strip()
    _printable(text, "the display name")
    if not 1 <= len(text) <= DISPLAY_NAME_MAX:
        raise ValueError(f"a display name is 1–{DISPLAY_NAME_MAX} characters")
    return text


def legal_name(value: str) -> str:
    text = unicodedata.normalize("NFC", value).strip()
    _printable(text, "the legal name")
    if not 1 <= len(text) <= LEGAL_NAME_MAX:
        raise ValueError(f"a legal name is 1–{LEGAL_NAME_MAX} characters")
    return text


def bio(value: str) -> str:
    text = unicodedata.normalize("NFC", value).strip()
    if any(
        unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") and ch not in "\n\t" for ch in text
    ):
        raise ValueError("the bio holds control or invisible characters")
    if len(text) > BIO_MAX:
        raise ValueError(f"a bio is at most {BIO_MAX} characters")
    return text


def reason(value: str) -> str:
    """An operator's reason for a decision (shown to the applicant)."""
    text = bio(value)
    if not text:
        raise ValueError("a reason is required")
    return text


def https_url(value: str) -> str:
    """An absolute https URL with a host, no user:password@, no whitespace."""
    text = value.strip()
    if len(text) > URL_MAX:
        raise ValueError(f"a URL is at most {URL_MAX} characters")
    if any(ch.isspace() or ord(ch) < 0x20 for ch in text):
        raise ValueError("a URL holds no spaces or control characters")
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError as exc:
        raise ValueError("not a valid URL") from exc
    if parts.scheme.lower() != "https":
        raise ValueError("only https:// links are accepted")
    if not host or "." not in host or parts.username is not None or parts.password is not None:
        raise ValueError("an https URL needs a host name and no credentials")
    return text


def channel_links(values: list[str]) -> list[str]:
    if len(values) > MAX_CHANNEL_LINKS:
        raise ValueError(f"at most {MAX_CHANNEL_LINKS} channel links")
    links = [https_url(v) for v in values]
    return list(dict.fromkeys(links))


def _half_width_table() -> dict[str, str]:
    """Full-width katakana (and hiragana) → 全銀 half-width kana, voiced ones as two chars."""
    table: dict[str, str] = {}
    for code in range(0xFF66, 0xFF9E):
        half = chr(code)
        full = unicodedata.normalize("NFKC", half)
        table.setdefault(full, half)
        for mark in ("\uff9e", "\uff9f"):
            voiced = unicodedata.normalize("NFKC", half + mark)
            if len(voiced) == 1:
                table.setdefault(voiced, half + mark)
    # 全銀 has no small kana: banks write them full-size.
    small = {"ァ": "ｱ", "ィ": "ｲ", "ゥ": "ｳ", "ェ": "ｴ", "ォ": "ｵ", "ッ": "ﾂ", "ャ": "ﾔ", "ュ": "ﾕ"}
    small |= {"ョ": "ﾖ", "ヮ": "ﾜ", "ヵ": "ｶ", "ヶ": "ｹ", "ヰ": "ｲ", "ヱ": "ｴ"}
    table |= small
    table |= {"ー": "-", "ｰ": "-", "－": "-", "\u3000": " ", "・": ".", "､": ",", "、": ","}
    for katakana in list(table):
        if "\u30a1" <= katakana <= "\u30f6":  # the hiragana twin of each katakana
            hiragana = chr(ord(katakana) - 0x60)
            table.setdefault(hiragana, table[katakana])
    return table


HALF_WIDTH = _half_width_table()
ZENGIN_ALLOWED = re.compile(r"^[0-9A-Z\uff66\uff71-\uff9f ().,/-]+$")


def holder_kana(value: str) -> str:
    """The account holder's name as 全銀 half-width characters, e.g. ``ｺｴﾎﾟﾝ ﾀﾛｳ``."""
    # NFKC first: half-width kana become full-width (ｶﾞ → ガ), full-width ASCII becomes ASCII.
    composed = unicodedata.normalize("NFKC", value).strip()
    text = re.sub(r" +", " ", "".join(HALF_WIDTH.get(ch, ch.upper()) for ch in composed))
    if not text or not ZENGIN_ALLOWED.match(text):
        raise ValueError(
            "the account holder is written in katakana (half- or full-width), A–Z, digits, "
            "spaces and ().,/- only"
        )
    if len(text) > HOLDER_KANA_MAX:
        raise ValueError(f"the account holder is at most {HOLDER_KANA_MAX} half-width characters")
    return text


def digits(value: str, count: int, what: str) -> str:
    text = unicodedata.normalize("NFKC", value).strip()
    if not re.fullmatch(rf"[0-9]{{{count}}}", text):
        raise ValueError(f"{what} is {count} digits")
    return text


def masked(account_number: str) -> str:
    """An account number as operators see it: all but the last three digits hidden."""
    return "*" * max(0, len(account_number) - 3) + account_number[-3:]


def email(value: str) -> str:
    """An invitee's address in the auth service's normal form (NFKC, local part lowercased,
    domain in its ASCII form), so it compares equal to the account's verified email."""
    text = unicodedata.normalize("NFKC", value).strip()
    if len(text) > 254:
        raise ValueError("an email address is at most 254 characters")
    try:
        parsed = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {exc}") from exc
    return f"{parsed.local_part.lower()}@{parsed.ascii_domain.lower()}"
