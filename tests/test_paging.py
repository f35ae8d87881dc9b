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


def test_the_default_page_never_exceeds_the_maximum() -> None:
    assert page_bounds(None, None, 20) == (0, 20)
    assert page_bounds(100, None, 100) == (0, 100)


@pytest.mark.parametrize(
    ("first", "code"), [(101, "PAGE_SIZE_TOO_LARGE"), (-1, "PAGE_SIZE_NEGATIVE")]
)
def test_out_of_range_page_sizes_are_refused_at_first(first: int, code: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        page_bounds(first, None, 100)

    assert caught.value.code == code
    assert caught.value.field == "first"
