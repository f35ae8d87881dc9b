"""The merged case history of one prisoner, a page at a time (`store/case_history.py`).

Cursors carry the last entry's key (created_at, log, id), so that a page
after it stays right however many entries are added above meanwhile; they
are opaque base64 and checked like the offset cursors of `paging.py`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt

from allocation_api.errors import ValidationFailed
from allocation_api.paging import page_bounds
from allocation_api.resolvers.context import RequestContext
from allocation_api.store.case_history import HistoryEntry, HistoryKey, case_history_page

__all__ = ["decode_history_cursor", "encode_history_cursor", "history_page"]

_PREFIX = "hist:"
MAX_HISTORY_CURSOR_CHARS = 128
"""A real cursor is about 70 characters; anything longer is refused before decoding."""


def encode_history_cursor(key: HistoryKey) -> str:
    at, log, id_ = key
    text = f"{_PREFIX}{at.isoformat()}|{log}|{id_}"
    return base64.urlsafe_b64encode(text.encode()).decode()


def _invalid() -> ValidationFailed:
    return ValidationFailed(
        "The cursor is not one this API issued", code="INVALID_CURSOR", field="after"
    )


def decode_history_cursor(cursor: str) -> HistoryKey:
    """The key in `cursor`; INVALID_CURSOR (at `after`) for anything it did not issue."""
    if len(cursor) > MAX_HISTORY_CURSOR_CHARS:
        raise _invalid()
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        raise _invalid() from None
    if not text.startswith(_PREFIX):
        raise _invalid()
    parts = text[len(_PREFIX) :].split("|")
    if len(parts) != 3 or parts[1] not in ("0", "1"):
        raise _invalid()
    at_text, log_text, id_text = parts
    if not id_text.isascii() or not id_text.isdecimal() or len(id_text) > 19:
        raise _invalid()
    try:
        at = dt.datetime.fromisoformat(at_text)
    except ValueError:
        raise _invalid() from None
    if at.tzinfo is None:
        raise _invalid()
    return at, int(log_text), int(id_text)


async def history_page(
    ctx: RequestContext, offender_no: str, first: int | None, after: str | None
) -> tuple[list[HistoryEntry], bool]:
    """(entries, has_next_page): `first` entries below the cursor, newest first."""
    _, size = page_bounds(first, None, ctx.settings.max_page_size)
    below = None if after is None else decode_history_cursor(after)
    if size == 0:
        return [], False
    return await case_history_page(ctx.services.reads, offender_no, below, size)
