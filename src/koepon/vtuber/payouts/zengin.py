"""The 全銀協 総合振込 transfer file (pure: no I/O): fixed 120-byte records, Shift_JIS, CRLF.

Layout (全銀協制定ファイルフォーマット, 総合振込; N = digits, right-aligned and zero-filled;
C = half-width characters, left-aligned and space-filled):

- header (1): データ区分 N1 "1", 種別コード N2 "21", コード区分 N1 "0", 委託者コード N10,
  委託者名 C40, 振込指定日 N4 (MMDD), 仕向銀行番号 N4, 仕向銀行名 C15, 仕向支店番号 N3,
  仕向支店名 C15, 預金種目 N1, 口座番号 N7, ダミー C17;
- data (2), one per transfer: データ区分 N1 "2", 被仕向銀行番号 N4, 被仕向銀行名 C15,
  被仕向支店番号 N3, 被仕向支店名 C15, 手形交換所番号 N4 "0000", 預金種目 N1 (1 普通, 2 当座,
  4 貯蓄, 9 その他), 口座番号 N7, 受取人名 C30, 振込金額 N10, 新規コード N1 "0", 顧客コード1 N10,
  顧客コード2 N10, 振込指定区分 N1 "7" (電信), 識別表示 C1 " ", ダミー C7;
- trailer (8): データ区分 N1 "8", 合計件数 N6, 合計金額 N12, ダミー C101;
- end (9): データ区分 N1 "9", ダミー C119.

Names are written in the 全銀 character set: half-width katakana (small kana as full-size ones,
ー as "-"), upper-case letters, digits, space and ``( ) - . / ,``; ``half_width_kana`` converts
full-width katakana, hiragana and full-width letters, and refuses anything else.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

RECORD_BYTES = 120
ENCODING = "cp932"
NEWLINE = "\r\n"
KIND_GENERAL_TRANSFER = "21"  # 総合振込
ACCOUNT_TYPES = {"ordinary": "1", "current": "2", "savings": "4", "other": "9"}
MAX_AMOUNT_JPY = 9_999_999_999
MAX_TOTAL_JPY = 999_999_999_999
MAX_TRANSFERS = 999_999

_ALLOWED_ASCII = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ ()-./,")
_SMALL_TO_FULL = str.maketrans("ァィゥェォッャュョヮヵヶヰヱ", "アイウエオツヤユヨワカケイエ")
_VOICED, _SEMI_VOICED = "\u3099", "\u309a"
# Full-width katakana → half-width, built from the half-width block itself (U+FF66–U+FF9D).
_HALF = {unicodedata.normalize("NFKC", chr(code)): chr(code) for code in range(0xFF66, 0xFF9E)}
_HALF["ー"] = "-"


class ZenginError(ValueError):
    """A value that cannot be written in the 全銀 format (names the field)."""


def half_width_kana(text: str) -> str:
    """``text`` in the 全銀 character set (``ZenginError`` when a character has no spelling)."""
    wide = unicodedata.normalize("NFKC", text).upper()
    out: list[str] = []
    for char in wide:
        if "\u3041" <= char <= "\u3096":  # hiragana → katakana
            char = chr(ord(char) + 0x60)
        char = char.translate(_SMALL_TO_FULL)
        if char in _ALLOWED_ASCII:
            out.append(char)
            continue
        decomposed = unicodedata.normalize("NFD", char)
        base, marks = decomposed[0], decomposed[1:]
        if base not in _HALF or any(mark not in (_VOICED, _SEMI_VOICED) for mark in marks):
            raise ZenginError(f"{char!r} cannot be written in a 全銀 file")
        out.append(_HALF[base])
        out.extend("ﾞ" if mark == _VOICED else "ﾟ" for mark in marks)
    return "".join(out)


def _text(value: str, width: int, field: str) -> str:
    converted = half_width_kana(value)
    if len(converted) > width:
        raise ZenginError(f"{field} is {len(converted)} characters in half-width; {width} fit")
    return converted.ljust(width)


def _number(value: int | str, width: int, field: str) -> str:
    digits = str(value)
    if not digits.isascii() or not digits.isdigit() or len(digits) > width:
        raise ZenginError(f"{field} must be up to {width} digits, not {value!r}")
    return digits.rjust(width, "0")


def account_type_code(account_type: str) -> str:
    """``ordinary``/``current``/``savings``/``other`` (or the code itself) → 1/2/4/9."""
    code = ACCOUNT_TYPES.get(account_type, account_type)
    if code not in ACCOUNT_TYPES.values():
        raise ZenginError(f"account type {account_type!r} is not ordinary, current or savings")
    return code


@dataclass(frozen=True)
class Originator:
    """The paying company (振込依頼人) and its account."""

    company_code: str
    company_name: str
    bank_code: str
    branch_code: str
    account_type: str
    account_number: str
    bank_name: str = ""
    branch_name: str = ""


@dataclass(frozen=True)
class Transfer:
    """One payee's bank account and the amount sent to it."""

    bank_code: str
    branch_code: str
    account_type: str
    account_number: str
    holder_kana: str
    amount_jpy: int
    bank_name: str = ""
    branch_name: str = ""
    customer_code: str = ""


def header_record(originator: Originator, transfer_date: date) -> str:
    return "".join(
        [
            "1",
            KIND_GENERAL_TRANSFER,
            "0",
            _number(originator.company_code, 10, "委託者コード"),
            _text(originator.company_name, 40, "委託者名"),
            transfer_date.strftime("%m%d"),
            _number(originator.bank_code, 4, "仕向銀行番号"),
            _text(originator.bank_name, 15, "仕向銀行名"),
            _number(originator.branch_code, 3, "仕向支店番号"),
            _text(originator.branch_name, 15, "仕向支店名"),
            account_type_code(originator.account_type),
            _number(originator.account_number, 7, "口座番号"),
            " " * 17,
        ]
    )


def data_record(transfer: Transfer) -> str:
    if not 0 < transfer.amount_jpy <= MAX_AMOUNT_JPY:
        raise ZenginError(f"振込金額 {transfer.amount_jpy} is not 1–{MAX_AMOUNT_JPY}")
    return "".join(
        [
            "2",
            _number(transfer.bank_code, 4, "被仕向銀行番号"),
            _text(transfer.bank_name, 15, "被仕向銀行名"),
            _number(transfer.branch_code, 3, "被仕向支店番号"),
            _text(transfer.branch_name, 15, "被仕向支店名"),
            "0000",
            account_type_code(transfer.account_type),
            _number(transfer.account_number, 7, "口座番号"),
            _text(transfer.holder_kana, 30, "受取人名"),
            _number(transfer.amount_jpy, 10, "振込金額"),
            "0",
            _number(transfer.customer_code or "0", 10, "顧客コード1"),
            "0" * 10,
            "7",
            " ",
            " " * 7,
        ]
    )


def trailer_record(count: int, total_jpy: int) -> str:
    return "".join(
        [
            "8",
            _number(count, 6, "合計件数"),
            _number(total_jpy, 12, "合計金額"),
            " " * 101,
        ]
    )


def end_record() -> str:
    return "9" + " " * 119


def records(
    originator: Originator, transfer_date: date, transfers: Sequence[Transfer]
) -> list[str]:
    """The file's records in order, each 120 half-width characters."""
    if not transfers:
        raise ZenginError("a transfer file needs at least one transfer")
    if len(transfers) > MAX_TRANSFERS:
        raise ZenginError(f"a transfer file holds at most {MAX_TRANSFERS} transfers")
    total = sum(transfer.amount_jpy for transfer in transfers)
    if total > MAX_TOTAL_JPY:
        raise ZenginError(f"合計金額 {total} does not fit 12 digits")
    return [
        header_record(originator, transfer_date),
        *(data_record(transfer) for transfer in transfers),
        trailer_record(len(transfers), total),
        end_record(),
    ]


def encode(lines: Sequence[str]) -> bytes:
    """Shift_JIS (cp932) bytes, each record 120 bytes followed by CRLF."""
    encoded = [line.encode(ENCODING) for line in lines]
    for number, line in enumerate(encoded, start=1):
        if len(line) != RECORD_BYTES:
            raise ZenginError(f"record {number} is {len(line)} bytes, not {RECORD_BYTES}")
    return b"".join(line + NEWLINE.encode("ascii") for line in encoded)


def transfer_file(
    originator: Originator, transfer_date: date, transfers: Sequence[Transfer]
) -> bytes:
    """The whole 総合振込 file."""
    return encode(records(originator, transfer_date, transfers))
