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


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{position}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        text = ""
    if not text.startswith(_PREFIX) or not text[len(_PREFIX) :].isdigit():
        raise ValidationFailed(
            "The cursor is not one this API issued", code="INVALID_CURSOR", field="after"
        )
    return int(text[len(_PREFIX) :])


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
