"""A prisoner's merged case history: allocation events and case events, newest first.

Both logs are append-only, so a page is read by key, not by offset: the key
of an entry is (created_at, log, id) with `log` 1 for `allocation_event` and
0 for `case_event`, and the next page starts strictly below the last key of
this one. Entries committed after the first page was read land above it, so
paging on never repeats or skips an entry. One statement per log and page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from allocation_api.store.read_pool import Reader

__all__ = ["ALLOCATION_LOG", "CASE_LOG", "HistoryEntry", "HistoryKey", "case_history_page"]

ALLOCATION_LOG = 1
CASE_LOG = 0

HistoryKey = tuple[dt.datetime, int, int]
"""(created_at, log, id): the order of the merged history (descending)."""

_ALLOCATION_EVENTS = """
SELECT id, created_at, event, trigger, prison_code, created_by_username, created_by_name,
       primary_pom_staff_id, primary_pom_name, secondary_pom_staff_id, secondary_pom_name
FROM allocation_event
WHERE offender_no = $1
  AND ($2::timestamptz IS NULL OR (created_at, 1, id) < ($2::timestamptz, $3::int, $4::bigint))
ORDER BY created_at DESC, id DESC
LIMIT $5"""

_CASE_EVENTS = """
SELECT id, created_at, kind, source, prison_code, created_by_username, created_by_name, detail
FROM case_event
WHERE offender_no = $1
  AND ($2::timestamptz IS NULL OR (created_at, 0, id) < ($2::timestamptz, $3::int, $4::bigint))
ORDER BY created_at DESC, id DESC
LIMIT $5"""


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One entry of either log, in the shape the graph shows."""

    key: HistoryKey
    kind: str
    """An `AllocationEventType` (allocation log) or a `CaseEventKind` (case log)."""
    source: str
    """`ALLOCATION` for the allocation log; the case event's `FactSource` otherwise."""
    trigger: str | None
    prison_code: str | None
    by_username: str | None
    by_name: str | None
    detail: dict[str, Any]


def _allocation(row: Sequence[Any]) -> HistoryEntry:
    (id_, at, event, trigger, prison, username, name, primary, primary_name, secondary,
     secondary_name) = row  # fmt: skip
    detail = {
        "primaryPomStaffId": primary,
        "primaryPomName": primary_name,
        "secondaryPomStaffId": secondary,
        "secondaryPomName": secondary_name,
    }
    return HistoryEntry(
        (at, ALLOCATION_LOG, id_), event, "ALLOCATION", trigger, prison, username, name, detail
    )


def _case(row: Sequence[Any]) -> HistoryEntry:
    id_, at, kind, source, prison, username, name, detail = row
    if isinstance(detail, str):  # asyncpg hands jsonb over as text without a codec
        detail = orjson.loads(detail)
    return HistoryEntry((at, CASE_LOG, id_), kind, source, None, prison, username, name, detail)


async def case_history_page(
    reader: Reader, offender_no: str, below: HistoryKey | None, size: int
) -> tuple[list[HistoryEntry], bool]:
    """Up to `size` entries below `below` (None: from the newest), newest first, and
    whether more follow. TWO statements (one per log), each at most `size + 1` rows."""
    at, log, id_ = below if below is not None else (None, None, None)
    limit = size + 1
    allocation_rows = await reader.fetch(_ALLOCATION_EVENTS, offender_no, at, log, id_, limit)
    case_rows = await reader.fetch(_CASE_EVENTS, offender_no, at, log, id_, limit)
    merged = sorted(
        [*map(_allocation, allocation_rows), *map(_case, case_rows)],
        key=lambda entry: entry.key,
        reverse=True,
    )
    return merged[:size], len(merged) > size
