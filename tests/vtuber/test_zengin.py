"""The 全銀 総合振込 file (payouts/zengin.py), byte for byte on a hand-made example."""

from __future__ import annotations

from datetime import date

import pytest

from koepon.vtuber.payouts.zengin import (
    Originator,
    Transfer,
    ZenginError,
    half_width_kana,
    transfer_file,
)

ORIGINATOR = Originator(
    company_code="1234567890",
    company_name="ｺｴﾎﾟﾝ(ｶ",
    bank_code="0005",
    branch_code="001",
    account_type="1",
    account_number="7654321",
)
TARO = Transfer(
    bank_code="0001",
    branch_code="001",
    account_type="ordinary",
    account_number="1234567",
    holder_kana="ｺｴﾎﾟﾝ ﾀﾛｳ",
    amount_jpy=897_900,
)
VOICE_CORP = Transfer(
    bank_code="0009",
    branch_code="123",
    account_type="savings",
    account_number="0000042",
    holder_kana="カブシキガイシャ　ボイス",  # full-width: written half-width, ャ as ﾔ
    amount_jpy=1_400_000,
)

# Each record written out field by field (N right-aligned zero-filled, C left-aligned spaces).
HEADER = (
    "1"  # データ区分
    + "21"  # 種別コード: 総合振込
    + "0"  # コード区分
    + "1234567890"  # 委託者コード N10
    + "ｺｴﾎﾟﾝ(ｶ"
    + " " * 33  # 委託者名 C40 (7 half-width characters)
    + "1210"  # 振込指定日 MMDD
    + "0005"  # 仕向銀行番号
    + " " * 15  # 仕向銀行名
    + "001"  # 仕向支店番号
    + " " * 15  # 仕向支店名
    + "1"  # 預金種目
    + "7654321"  # 口座番号
    + " " * 17  # ダミー
)
DATA_TARO = (
    "2"
    + "0001"  # 被仕向銀行番号
    + " " * 15  # 被仕向銀行名
    + "001"  # 被仕向支店番号
    + " " * 15  # 被仕向支店名
    + "0000"  # 手形交換所番号
    + "1"  # 普通
    + "1234567"
    + "ｺｴﾎﾟﾝ ﾀﾛｳ"
    + " " * 21  # 受取人名 C30 (9 characters: ﾟ is one)
    + "0000897900"  # 振込金額 N10
    + "0"  # 新規コード
    + "0000000000"  # 顧客コード1
    + "0000000000"  # 顧客コード2
    + "7"  # 振込指定区分: 電信
    + " "  # 識別表示
    + " " * 7  # ダミー
)
DATA_CORP = (
    "2"
    + "0009"
    + " " * 15
    + "123"
    + " " * 15
    + "0000"
    + "4"  # 貯蓄
    + "0000042"
    + "ｶﾌﾞｼｷｶﾞｲｼﾔ ﾎﾞｲｽ"
    + " " * 15  # 15 characters (each ﾞ counts as one)
    + "0001400000"
    + "0"
    + "0000000000"
    + "0000000000"
    + "7"
    + " "
    + " " * 7
)
TRAILER = "8" + "000002" + "000002297900" + " " * 101  # 2 transfers, ¥2,297,900
END = "9" + " " * 119


def test_the_file_byte_for_byte() -> None:
    data = transfer_file(ORIGINATOR, date(2026, 12, 10), [TARO, VOICE_CORP])
    expected = "".join(
        line + "\r\n" for line in (HEADER, DATA_TARO, DATA_CORP, TRAILER, END)
    ).encode("cp932")
    assert data == expected
    lines = data.split(b"\r\n")
    assert lines[-1] == b""
    assert [len(line) for line in lines[:-1]] == [120] * 5
    assert len(data) == 5 * 122
    assert [line[:1] for line in lines[:-1]] == [b"1", b"2", b"2", b"8", b"9"]
    # half-width katakana are one byte each in Shift_JIS: ｺ = 0xBA, ﾞ = 0xDE
    assert lines[1][50:54] == bytes([0xBA, 0xB4, 0xCE, 0xDF])
    assert b"\xde" in lines[2][50:80]


def test_every_record_is_120_characters_as_written_here() -> None:
    assert [len(r) for r in (HEADER, DATA_TARO, DATA_CORP, TRAILER, END)] == [120] * 5


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("コエポン タロウ", "ｺｴﾎﾟﾝ ﾀﾛｳ"),
        ("ｺｴﾎﾟﾝ ﾀﾛｳ", "ｺｴﾎﾟﾝ ﾀﾛｳ"),
        ("こえぽん", "ｺｴﾎﾟﾝ"),
        ("ヴィーナス", "ｳﾞｲ-ﾅｽ"),
        ("ｶ)ｺｴﾎﾟﾝ", "ｶ)ｺｴﾎﾟﾝ"),
        ("Ａｂｃ１２３", "ABC123"),
        ("キャッシュ", "ｷﾔﾂｼﾕ"),
    ],
)
def test_names_in_the_zengin_character_set(text: str, written: str) -> None:
    assert half_width_kana(text) == written


@pytest.mark.parametrize("text", ["声本", "TARO@", "ｺｴﾎﾟﾝ★"])
def test_characters_without_a_zengin_spelling_are_refused(text: str) -> None:
    with pytest.raises(ZenginError):
        half_width_kana(text)


def test_too_long_a_name_is_refused_not_cut() -> None:
    with pytest.raises(ZenginError, match="受取人名"):
        transfer_file(
            ORIGINATOR,
            date(2026, 12, 10),
            [Transfer("0001", "001", "ordinary", "1234567", "ｱ" * 31, 1)],
        )


@pytest.mark.parametrize(
    "transfer",
    [
        Transfer("001", "001", "ordinary", "1234567", "ｱ", 1),  # a 3-digit bank code is kept
        Transfer("0001", "001", "ordinary", "12345678", "ｱ", 1),  # 8-digit account
        Transfer("0001", "001", "ordinary", "12345a7", "ｱ", 1),
        Transfer("0001", "001", "checking", "1234567", "ｱ", 1),
        Transfer("0001", "001", "ordinary", "1234567", "ｱ", 0),
        Transfer("0001", "001", "ordinary", "1234567", "ｱ", 10_000_000_000),
    ],
)
def test_bad_transfers_are_refused(transfer: Transfer) -> None:
    if transfer.bank_code == "001":
        # shorter numbers are zero-filled on the left, as the format says
        assert (
            transfer_file(ORIGINATOR, date(2026, 12, 10), [transfer]).split(b"\r\n")[1][1:5]
            == b"0001"
        )
        return
    with pytest.raises(ZenginError):
        transfer_file(ORIGINATOR, date(2026, 12, 10), [transfer])


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(ZenginError):
        transfer_file(ORIGINATOR, date(2026, 12, 10), [])
