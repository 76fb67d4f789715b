"""The applicant's checks: invoice numbers, bank fields, holder kana, links (pure)."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from koepon.vtuber.teams import checks

# Published 法人番号 (国税庁, 法務省, a listed company, and the Qiita example company) and the
# worked example of the check-digit rule (7123456789012).
VALID = [
    "T7000012050002",
    "T1010001143390",
    "T2021001052596",
    "T8000012010038",
    "T5010401067252",
    "T4011001098993",
    "T7123456789012",
]


@pytest.mark.parametrize("number", VALID)
def test_known_invoice_numbers_pass(number: str) -> None:
    assert checks.invoice_number(number) == number


def test_invoice_numbers_are_normalised() -> None:
    assert checks.invoice_number("ｔ７０００ ０１２０ ５０００２") == "T7000012050002"
    assert checks.invoice_number("t7000-0120-50002") == "T7000012050002"


@pytest.mark.parametrize(
    "number",
    [
        "7000012050002",
        "T700001205000",
        "T70000120500021",
        "X7000012050002",
        "T6000012050002",
        "",
        "T",
    ],
)
def test_bad_invoice_numbers_are_refused(number: str) -> None:
    with pytest.raises(ValueError):
        checks.invoice_number(number)


@given(st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_exactly_one_check_digit_fits_every_base(base: str) -> None:
    fits = [d for d in range(10) if checks.check_digit(base) == d]
    assert len(fits) == 1 and 1 <= fits[0] <= 9


@given(
    st.text(alphabet="0123456789", min_size=12, max_size=12), st.integers(0, 11), st.integers(1, 9)
)
def test_a_changed_digit_is_caught(base: str, at: int, delta: int) -> None:
    number = f"T{checks.check_digit(base)}{base}"
    changed = str((int(base[at]) + delta) % 10)
    typo = number[: at + 2] + changed + number[at + 3 :]
    # Weights 1 and 2 with mod 9: a 0↔9 change goes unseen (a property of the published
    # rule); every other single-digit change is caught.
    weight = 1 if (12 - at) % 2 else 2
    if (weight * (int(changed) - int(base[at]))) % 9 == 0:
        return
    with pytest.raises(ValueError):
        checks.invoice_number(typo)


def test_registration_dates() -> None:
    today = date(2026, 11, 30)
    assert checks.invoice_registered_on(date(2023, 10, 1), today) == date(2023, 10, 1)
    with pytest.raises(ValueError):
        checks.invoice_registered_on(date(2023, 9, 30), today)
    with pytest.raises(ValueError):
        checks.invoice_registered_on(date(2026, 12, 1), today)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("ｺｴﾎﾟﾝ ﾀﾛｳ", "ｺｴﾎﾟﾝ ﾀﾛｳ"),
        ("コエポン　タロウ", "ｺｴﾎﾟﾝ ﾀﾛｳ"),
        ("こえぽん たろう", "ｺｴﾎﾟﾝ ﾀﾛｳ"),
        ("カ）コエポン", "ｶ)ｺｴﾎﾟﾝ"),
        ("ヴァーチャル", "ｳﾞｱ-ﾁﾔﾙ"),
        ("キャッシュ", "ｷﾔﾂｼﾕ"),
        ("koepon taro", "KOEPON TARO"),
        ("ＫＯＥＰＯＮ", "KOEPON"),
    ],
)
def test_holder_kana_is_stored_as_zengin_half_width(typed: str, stored: str) -> None:
    assert checks.holder_kana(typed) == stored


@pytest.mark.parametrize("typed", ["山田太郎", "ｺｴﾎﾟﾝ<script>", "", "   ", "ｱ" * 31, "コエポン🎤"])
def test_bad_holder_kana_is_refused(typed: str) -> None:
    with pytest.raises(ValueError):
        checks.holder_kana(typed)


def test_bank_digits() -> None:
    assert checks.digits("０００５", 4, "a bank code") == "0005"
    for bad in ("005", "00050", "abcd", "00 5"):
        with pytest.raises(ValueError):
            checks.digits(bad, 4, "a bank code")
    assert checks.masked("7654321") == "****321"


@pytest.mark.parametrize(
    "url",
    [
        "http://x.com/a",
        "javascript:alert(1)",
        "https://",
        "https://localhost/a",
        "https://user:pw@x.com/",
        "https://x.com/a b",
        "ftp://x.com",
        "https://x.com/" + "a" * 600,
    ],
)
def test_only_https_links(url: str) -> None:
    with pytest.raises(ValueError):
        checks.https_url(url)


def test_links_and_names() -> None:
    assert checks.channel_links(["https://x.com/a", "https://x.com/a"]) == ["https://x.com/a"]
    with pytest.raises(ValueError):
        checks.channel_links([f"https://x.com/{i}" for i in range(11)])
    assert checks.display_name("  星見こえ ") == "星見こえ"
    for bad in ("", " ", "a" * 65, "名前\u202e"):
        with pytest.raises(ValueError):
            checks.display_name(bad)


def test_emails_take_the_auth_normal_form() -> None:
    assert checks.email("ＦＡＮ@Example.JP") == "fan@example.jp"
    with pytest.raises(ValueError):
        checks.email("not-an-address")


HALF_KANA = "".join(chr(c) for c in range(0xFF71, 0xFF9E)) + "ｦ "


@given(st.text(alphabet=HALF_KANA, min_size=1, max_size=30).filter(lambda t: t.strip()))
def test_full_width_and_half_width_spellings_store_the_same(name: str) -> None:
    half = checks.holder_kana(name)
    assert checks.holder_kana(unicodedata.normalize("NFKC", name)) == half
    assert checks.ZENGIN_ALLOWED.match(half) and len(half) <= checks.HOLDER_KANA_MAX
    assert checks.holder_kana(half) == half  # stored values pass the check again unchanged
