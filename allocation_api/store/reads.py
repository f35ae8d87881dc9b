"""Batched reads for DataLoaders: each call is ONE SQL statement, whatever the batch size.

Keys are bound as a single array parameter (`= ANY($1)` or `unnest($1)`),
never expanded into `IN ($1, $2, ...)`: the statement text is the same for
every batch size, so asyncpg's prepared-statement cache is reused, and a
1000-key batch does not turn into a 1000-parameter statement. Duplicate
keys are sent once. An empty batch makes no statement at all.

The reads the request path makes (POM details, events, caseloads, status,
and `owned_records.py`) are written for asyncpg and run on a
`read_pool.Reader`.

Result shapes, so loaders can answer every key:
- one row per key (`pom_details_by_keys`): the dict holds only the keys
  that were found;
- many rows per key (events, caseloads): every requested key is present,
  possibly with an empty list.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from allocation_api.store.read_pool import Reader
from allocation_api.store.views import (
    AllocationEventView,
    AllocationView,
    PomDetailView,
    columns,
)

__all__ = [
    "allocation_status",
    "caseloads_by_staff_ids",
    "events_by_offender_nos",
    "pom_details_by_keys",
]

K = TypeVar("K", bound=Hashable)

_POM_DETAILS = (
    "SELECT "  # noqa: S608 - column names from the table model
    + columns(PomDetailView, "d")
    + """ FROM pom_detail d
    JOIN unnest($1::int[], $2::text[]) AS wanted(staff_id, prison_code)
      ON d.staff_id = wanted.staff_id AND d.prison_code = wanted.prison_code
    """
)

_EVENTS = (
    "SELECT "  # noqa: S608 - column names from the table model
    + columns(AllocationEventView, "e")
    + """ FROM allocation_event e
    WHERE e.offender_no = ANY($1::text[])
    ORDER BY e.id
    """
)

# Every requested number, with (a primary POM [at $2, when given], a known tier).
_STATUS = """
    SELECT k.offender_no,
           coalesce(a.primary_pom_staff_id IS NOT NULL
                    AND ($2::text IS NULL OR a.prison_code = $2::text), false),
           c.tier IS NOT NULL
    FROM unnest($1::text[]) AS k(offender_no)
    LEFT JOIN allocation a ON a.offender_no = k.offender_no
    LEFT JOIN case_information c ON c.offender_no = k.offender_no
    """

_CASELOADS = (
    "SELECT "  # noqa: S608 - column names from the table model
    + columns(AllocationView, "a")
    + """ FROM allocation a
    WHERE a.prison_code = $1
      AND (a.primary_pom_staff_id = ANY($2::int[]) OR a.secondary_pom_staff_id = ANY($2::int[]))
    ORDER BY a.offender_no
    """
)


def _unique(keys: Iterable[K]) -> list[K]:
    return list(dict.fromkeys(keys))


def _text_array(name: str, values: Sequence[str]) -> sa.BindParameter[Sequence[str]]:
    value: Sequence[str] = list(values)
    return sa.bindparam(name, value, type_=pg.ARRAY(sa.Text))


def _int_array(name: str, values: Sequence[int]) -> sa.BindParameter[Sequence[int]]:
    value: Sequence[int] = list(values)
    return sa.bindparam(name, value, type_=pg.ARRAY(sa.Integer))


async def pom_details_by_keys(
    reader: Reader, keys: Sequence[tuple[int, str]]
) -> dict[tuple[int, str], PomDetailView]:
    """POM details by (staff id, prison code) (1 statement: a join on unnest of two arrays).

    Read-only views (see `views.py`); the mutation that changes details reads
    the table model under a row lock instead.
    """
    unique = _unique(keys)
    if not unique:
        return {}
    found = await reader.fetch(
        _POM_DETAILS,
        [staff_id for staff_id, _ in unique],
        [prison for _, prison in unique],
    )
    rows = [PomDetailView.from_row(row) for row in found]
    return {(row.staff_id, row.prison_code): row for row in rows}


async def events_by_offender_nos(
    reader: Reader, nos: Sequence[str]
) -> dict[str, list[AllocationEventView]]:
    """Allocation history per prisoner, oldest first (1 statement)."""
    keys = _unique(nos)
    if not keys:
        return {}
    rows = await reader.fetch(_EVENTS, keys)
    return _group(keys, map(AllocationEventView.from_row, rows), key=lambda row: row.offender_no)


async def caseloads_by_staff_ids(
    reader: Reader, prison_code: str, staff_ids: Sequence[int]
) -> dict[int, list[AllocationView]]:
    """Allocations at `prison_code` where each staff member is primary or co-working POM.

    Ordered by prisoner number; a row where two requested staff are primary
    and secondary appears in both lists (1 statement). Read-only views (see
    `views.py`): a 50-case caseload as table models cost ~10 ms of validation.
    """
    keys = _unique(staff_ids)
    if not keys:
        return {}
    rows = await reader.fetch(_CASELOADS, prison_code, keys)
    caseloads: dict[int, list[AllocationView]] = {staff_id: [] for staff_id in keys}
    for values in rows:
        row = AllocationView.from_row(values)
        for staff_id in (row.primary_pom_staff_id, row.secondary_pom_staff_id):
            if staff_id is not None and staff_id in caseloads:
                caseloads[staff_id].append(row)
    return caseloads


async def allocation_status(
    reader: Reader, nos: Sequence[str], *, prison_code: str | None = None
) -> dict[str, tuple[bool, bool]]:
    """For every number: (has a primary POM, has case information with a tier).

    Feeds the prison summary counts and the allocated / unallocated /
    missing-case-information filters without loading rows (1 statement).
    With `prison_code`, a primary POM counts only if the allocation is at
    that prison (a transferred prisoner's old allocation does not).
    Every requested number is in the result.
    """
    keys = _unique(nos)
    if not keys:
        return {}
    rows = await reader.fetch(_STATUS, keys, prison_code)
    return {no: (allocated, ready) for no, allocated, ready in rows}


R = TypeVar("R")


def _group(keys: Iterable[K], rows: Iterable[R], *, key: Callable[[R], K]) -> dict[K, list[R]]:
    grouped: dict[K, list[R]] = {k: [] for k in keys}
    for row in rows:
        grouped[key(row)].append(row)
    return grouped
