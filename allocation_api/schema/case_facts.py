"""The responsibility override and parole reviews in the graph, and their mapping.

Value types built whole from a stored row (table model or read view); the
parole review's `completed` and `release` are the rules' derivations
(`rules/parole.py`) of its stored fields, never stored themselves.
"""

from __future__ import annotations

import datetime as dt

import strawberry

from allocation_api.commands.responsibility_override import RemovedOverride
from allocation_api.rules import parole
from allocation_api.schema.enums import OverrideResponsibilityReason, ResponsibilityOverride
from allocation_api.schema.permissions import INHERIT
from allocation_api.store import tables
from allocation_api.store.views import ParoleReviewView, ResponsibilityOverrideView


@strawberry.type(
    name="ResponsibilityOverride",
    description="A manually forced responsibility; it wins over the handover calculation.",
)
class ResponsibilityOverrideType:
    offender_no: str = strawberry.field(metadata=INHERIT)
    responsibility: ResponsibilityOverride = strawberry.field(metadata=INHERIT)
    reason: OverrideResponsibilityReason = strawberry.field(metadata=INHERIT)
    reason_text: str | None = strawberry.field(metadata=INHERIT)
    created_by: str | None = strawberry.field(metadata=INHERIT, description="Username.")
    created_at: dt.datetime = strawberry.field(metadata=INHERIT)
    updated_by: str | None = strawberry.field(metadata=INHERIT, description="Username.")
    updated_at: dt.datetime = strawberry.field(metadata=INHERIT)
    version: int = strawberry.field(metadata=INHERIT)


@strawberry.type(description="What removeResponsibilityOverride removed.")
class ResponsibilityOverrideRemoved:
    offender_no: str = strawberry.field(metadata=INHERIT)
    removed: ResponsibilityOverrideType = strawberry.field(metadata=INHERIT)


@strawberry.type(
    description=(
        "A parole review as the Parole Board's record has it. The THD used for handover is "
        "the date (targetHearingDate, else custodyReportDue) of the last review dated on or "
        "after the current sentence start."
    )
)
class ParoleReview:
    id: int = strawberry.field(metadata=INHERIT)
    offender_no: str = strawberry.field(metadata=INHERIT)
    sentence_start_date: dt.date | None = strawberry.field(
        metadata=INHERIT, description="Start of the sentence the review was recorded for."
    )
    target_hearing_date: dt.date | None = strawberry.field(metadata=INHERIT)
    custody_report_due: dt.date | None = strawberry.field(metadata=INHERIT)
    hearing_outcome: str | None = strawberry.field(metadata=INHERIT)
    outcome_received_date: dt.date | None = strawberry.field(metadata=INHERIT)
    completed: bool = strawberry.field(
        metadata=INHERIT,
        description=(
            'A hearing outcome other than blank, "Not Applicable" or "Not Specified", '
            "or an outcome received date."
        ),
    )
    release: bool = strawberry.field(
        metadata=INHERIT, description='The hearing outcome is exactly "Release".'
    )
    created_by: str | None = strawberry.field(metadata=INHERIT, description="Username.")
    created_at: dt.datetime = strawberry.field(metadata=INHERIT)
    updated_by: str | None = strawberry.field(metadata=INHERIT, description="Username.")
    updated_at: dt.datetime = strawberry.field(metadata=INHERIT)
    version: int = strawberry.field(metadata=INHERIT)


def responsibility_override(
    row: tables.ResponsibilityOverride | ResponsibilityOverrideView,
) -> ResponsibilityOverrideType:
    return ResponsibilityOverrideType(
        offender_no=row.offender_no,
        responsibility=ResponsibilityOverride(row.responsibility),
        reason=OverrideResponsibilityReason(row.reason),
        reason_text=row.reason_text,
        created_by=row.created_by_username,
        created_at=row.created_at,
        updated_by=row.updated_by_username,
        updated_at=row.updated_at,
        version=row.version,
    )


def override_removed(found: RemovedOverride) -> ResponsibilityOverrideRemoved:
    return ResponsibilityOverrideRemoved(
        offender_no=found.offender_no, removed=responsibility_override(found.removed)
    )


def parole_review(row: tables.ParoleReview | ParoleReviewView) -> ParoleReview:
    facts = parole.ParoleReviewFacts(
        target_hearing_date=row.target_hearing_date,
        custody_report_due=row.custody_report_due,
        hearing_outcome=row.hearing_outcome,
        outcome_received_date=row.outcome_received_date,
    )
    assert row.id is not None  # a stored row
    return ParoleReview(
        id=row.id,
        offender_no=row.offender_no,
        sentence_start_date=row.sentence_start_date,
        target_hearing_date=row.target_hearing_date,
        custody_report_due=row.custody_report_due,
        hearing_outcome=row.hearing_outcome,
        outcome_received_date=row.outcome_received_date,
        completed=parole.is_completed(facts),
        release=parole.is_release(facts),
        created_by=row.created_by_username,
        created_at=row.created_at,
        updated_by=row.updated_by_username,
        updated_at=row.updated_at,
        version=row.version,
    )
