"""Opaque cursors and page bounds for Relay-style connections.

A cursor encodes the position of one item in a stable ordering. Clients must
treat it as opaque; a malformed cursor is a validation error, not a crash.
"""

from __future__ import annotations

import base64
import binascii

from allocation_api.errors import ValidationFailed

_PREFIX = "pos:"
DEFAULT_PAGE_SIZE = 50
MAX_POSITION_DIGITS = 9
"""No list this API pages holds a billion items; more digits is not a cursor it issued."""
MAX_CURSOR_CHARS = 4 * -(-(len(_PREFIX) + MAX_POSITION_DIGITS) // 3)
"""The longest cursor `encode_cursor` makes (base64 of prefix + digits): checked
before decoding, so an over-long string costs nothing and cannot reach `int()`
(whose digit limit raises ValueError past 4300 digits)."""


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{position}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    """The position in `cursor`; INVALID_CURSOR (at `after`) for anything it did not issue."""
    text = ""
    if len(cursor) <= MAX_CURSOR_CHARS:
        try:
            text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
        except (binascii.Error, UnicodeError, ValueError):
            text = ""
    digits = text[len(_PREFIX) :]
    if (
        not text.startswith(_PREFIX)
        # isdecimal, not isdigit: superscripts are digits int() refuses
        or not digits.isdecimal()
        or not digits.isascii()
        or len(digits) > MAX_POSITION_DIGITS
    ):
        raise ValidationFailed(
            "The cursor is not one this API issued", code="INVALID_CURSOR", field="after"
        )
    return int(digits)


def page_bounds(first: int | None, after: str | None, max_page_size: int) -> tuple[int, int]:
    """(start, size) for a page: after the cursor's position, `first` items."""
    if first is None:
        size = min(DEFAULT_PAGE_SIZE, max_page_size)
    elif first < 0:
        raise ValidationFailed(
            "first must not be negative", code="PAGE_SIZE_NEGATIVE", field="first"
        )
    elif first > max_page_size:
        raise ValidationFailed(
            f"first must be at most {max_page_size}", code="PAGE_SIZE_TOO_LARGE", field="first"
        )
    else:
        size = first
    start = 0 if after is None else decode_cursor(after) + 1
    return start, size
