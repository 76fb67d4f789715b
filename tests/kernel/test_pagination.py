"""Page cursors: what the API hands out round-trips; anything else is an InvalidCursor (422)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from koepon.kernel.pagination import InvalidCursor, decode_keyset, encode_keyset


@given(
    moment=st.datetimes(timezones=st.just(UTC)),
    key=st.text(alphabet="0123456789abcdef-", min_size=1, max_size=36),
)
def test_a_keyset_cursor_round_trips(moment: datetime, key: str) -> None:
    assert decode_keyset(encode_keyset(moment, key)) == (moment, key)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "abc",  # bad padding
        "9" * 20,
        _b64(b"\xff\xfe"),  # not UTF-8
        _b64(b"2026-11-30T00:00:00+00:00"),  # no key
        _b64(b"2026-11-30T00:00:00|id"),  # naive instant
        _b64(b"99999-01-01T00:00:00+00:00|id"),
        _b64(b"yesterday|id"),
        "A" * 201,
    ],
)
def test_anything_else_is_an_invalid_cursor(cursor: str) -> None:
    with pytest.raises(InvalidCursor) as refused:
        decode_keyset(cursor)
    assert (refused.value.status, refused.value.code) == (422, "invalid_cursor")


@given(st.text(max_size=80))
def test_no_text_makes_decoding_fail_other_than_as_an_invalid_cursor(text: str) -> None:
    try:
        decode_keyset(text)
    except InvalidCursor:
        pass
