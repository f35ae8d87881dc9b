"""Everything the store holds about a set of prisoners, in ONE statement.

A prison page asks, per prisoner, for the allocation, the case information
(tier) and the handover inputs (responsibility override, parole reviews,
early allocation assessments). Five separate batched reads would be five
round trips per page; this read returns all of it for the whole batch with
one statement: one row per requested number, allocation and case information
as plain columns (LEFT JOINs), the other kinds as JSON documents (`to_jsonb`
of the row, or a `jsonb_agg` of rows in id order, NULL when there is none, so
most rows carry nothing to decode), read back as the views of `views.py`.
History (events) stays separate: it is only read when asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from allocation_api.store.read_pool import Reader
from allocation_api.store.views import (
    AllocationView,
    CaseInformationView,
    EarlyAllocationView,
    ParoleReviewView,
    ResponsibilityOverrideView,
    column_count,
    columns,
    json_document,
    json_documents,
)


@dataclass(slots=True)
class OwnedRecord:
    """The owned data of one prisoner (absent kinds are None / empty).

    Read-only by convention, not `frozen`, for the reason `views.py` gives."""

    offender_no: str
    allocation: AllocationView | None = None
    case_information: CaseInformationView | None = None
    responsibility_override: ResponsibilityOverrideView | None = None
    parole_reviews: list[ParoleReviewView] = field(default_factory=list)
    early_allocations: list[EarlyAllocationView] = field(default_factory=list)


_ALLOCATION_COLUMNS = column_count(AllocationView)
_CASE_INFORMATION_COLUMNS = column_count(CaseInformationView)

# Allocation and case information (at most one row each per prisoner) come as
# plain columns, which asyncpg decodes in C; the rarer, many-per-prisoner kinds
# as JSON documents.
_COLUMNS = f"{columns(AllocationView, 'a')}, {columns(CaseInformationView, 'c')}"
_STATEMENT = (
    "SELECT k.offender_no, "  # noqa: S608 - column names from the table models
    + _COLUMNS
    + """,
      (SELECT to_jsonb(o) FROM responsibility_override o WHERE o.offender_no = k.offender_no)
        AS responsibility_override,
      (SELECT jsonb_agg(to_jsonb(p) ORDER BY p.id)
         FROM parole_review p WHERE p.offender_no = k.offender_no) AS parole_reviews,
      (SELECT jsonb_agg(to_jsonb(e) ORDER BY e.id)
         FROM early_allocation e WHERE e.offender_no = k.offender_no) AS early_allocations
    FROM unnest($1::text[]) AS k(offender_no)
    LEFT JOIN allocation a ON a.offender_no = k.offender_no
    LEFT JOIN case_information c ON c.offender_no = k.offender_no
    """
)


async def owned_records_by_offender_nos(
    reader: Reader, nos: Sequence[str]
) -> dict[str, OwnedRecord]:
    """ONE statement for any number of prisoners; every requested number is present."""
    unique = list(dict.fromkeys(nos))
    if not unique:
        return {}
    rows = await reader.fetch(_STATEMENT, unique)
    found: dict[str, OwnedRecord] = {}
    case_start = 1 + _ALLOCATION_COLUMNS
    rest = case_start + _CASE_INFORMATION_COLUMNS
    for row in rows:
        no = row[0]
        override, reviews, assessments = row[rest], row[rest + 1], row[rest + 2]
        # Positional, and nothing decoded that is absent (most rows): this loop
        # runs for every prisoner of every page.
        found[no] = OwnedRecord(
            no,
            # A LEFT JOIN that found nothing gives NULL for the (NOT NULL) key.
            None if row[1] is None else AllocationView.from_row(row[1:case_start]),
            None if row[case_start] is None else CaseInformationView.from_row(row[case_start:rest]),
            None
            if override is None
            else ResponsibilityOverrideView.from_json(json_document(override)),
            []
            if reviews is None
            else [ParoleReviewView.from_json(r) for r in json_documents(reviews)],
            []
            if assessments is None
            else [EarlyAllocationView.from_json(e) for e in json_documents(assessments)],
        )
    return found
