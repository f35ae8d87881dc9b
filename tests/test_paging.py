"""Cursors are opaque and validated; page bounds respect the configured maximum."""

from __future__ import annotations

import pytest

from allocation_api.errors import ValidationFailed
from allocation_api.paging import decode_cursor, encode_cursor, page_bounds


@pytest.mark.parametrize("position", [0, 1, 49, 12345])
def test_cursor_round_trip(position: int) -> None:
    assert decode_cursor(encode_cursor(position)) == position


@pytest.mark.parametrize(
    "cursor", ["", "garbage", "cG9zOi0x", "cG9zOmFiYw==", "\u00e9\u00e9", "pos:3"]
)
def test_bad_cursors_are_validation_errors(cursor: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        decode_cursor(cursor)
    assert caught.value.code == "INVALID_CURSOR"


def test_page_bounds() -> None:
    assert page_bounds(None, None, 100) == (0, 50)
    assert page_bounds(10, encode_cursor(9), 100) == (10, 10)
    assert page_bounds(0, None, 100) == (0, 0)
    with pytest.raises(ValidationFailed, match="at most 100"):
        page_bounds(101, None, 100)
    with pytest.raises(ValidationFailed, match="negative"):
        page_bounds(-1, None, 100)
