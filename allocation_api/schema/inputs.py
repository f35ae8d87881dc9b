"""Mutation inputs, and the commands they become.

The GraphQL shapes accept any value of the right type; `to_command` checks
and normalises the values (`schema/parse.py`), so that every failure,
including a malformed prisoner number, comes back as a typed payload member
rather than a GraphQL coercion error.
"""

from __future__ import annotations

import datetime as dt

import strawberry

from allocation_api.commands.allocate import AllocatePrimary, AllocateSecondary
from allocation_api.commands.case_information import UpdateCaseInformation
from allocation_api.commands.deallocate import Deallocate
from allocation_api.commands.parole_review import (
    ParoleReviewFields,
    RecordParoleReview,
    UpdateParoleReview,
)
from allocation_api.commands.pom_details import UpdatePomDetails
from allocation_api.commands.responsibility_override import (
    RemoveResponsibilityOverride,
    SetResponsibilityOverride,
)
from allocation_api.schema import parse
from allocation_api.schema.enums import (
    OverrideReason,
    OverrideResponsibilityReason,
    PomStatus,
    ProbationService,
    ResponsibilityOverride,
    Tier,
)

_VERSION = "Optimistic lock: refuse with ConflictError unless the current version is this."
_IDEMPOTENCY = "Retrying with the same key returns the first result without writing again."


@strawberry.input
class AllocatePrimaryPomInput:
    offender_no: str
    staff_id: int
    override_reasons: list[OverrideReason] | None = None
    override_detail: str | None = strawberry.field(
        default=None, description="Required with OTHER; at most 175 characters."
    )
    suitability_detail: str | None = strawberry.field(
        default=None, description="Required with SUITABILITY; at most 175 characters."
    )
    message: str | None = None
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)
    idempotency_key: str | None = strawberry.field(default=None, description=_IDEMPOTENCY)

    def to_command(self) -> AllocatePrimary:
        return AllocatePrimary(
            offender_no=parse.check_offender_no(self.offender_no),
            staff_id=parse.staff_id(self.staff_id),
            override_reasons=tuple(self.override_reasons or ()),
            override_detail=parse.text(self.override_detail, "overrideDetail", parse.DETAIL_MAX),
            suitability_detail=parse.text(
                self.suitability_detail, "suitabilityDetail", parse.DETAIL_MAX
            ),
            message=parse.text(self.message, "message", parse.MESSAGE_MAX),
            expected_version=parse.expected_version(self.expected_version),
            idempotency_key=parse.idempotency_key(self.idempotency_key),
        )


@strawberry.input
class AllocateSecondaryPomInput:
    offender_no: str
    staff_id: int
    message: str | None = None
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)
    idempotency_key: str | None = strawberry.field(default=None, description=_IDEMPOTENCY)

    def to_command(self) -> AllocateSecondary:
        return AllocateSecondary(
            offender_no=parse.check_offender_no(self.offender_no),
            staff_id=parse.staff_id(self.staff_id),
            message=parse.text(self.message, "message", parse.MESSAGE_MAX),
            expected_version=parse.expected_version(self.expected_version),
            idempotency_key=parse.idempotency_key(self.idempotency_key),
        )


@strawberry.input
class DeallocateInput:
    offender_no: str
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)
    idempotency_key: str | None = strawberry.field(default=None, description=_IDEMPOTENCY)

    def to_command(self, *, primary: bool) -> Deallocate:
        return Deallocate(
            offender_no=parse.check_offender_no(self.offender_no),
            primary=primary,
            expected_version=parse.expected_version(self.expected_version),
            idempotency_key=parse.idempotency_key(self.idempotency_key),
        )


@strawberry.input
class CaseInformationInput:
    offender_no: str
    tier: Tier | None = None
    probation_service: ProbationService | None = None
    mappa_level: int | None = strawberry.field(default=None, description="0-3; null = unknown.")
    crn: str | None = None
    com_name: str | None = None
    com_email: str | None = None
    team_name: str | None = None
    ldu_code: str | None = None
    manual_entry: bool = True
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)

    def to_command(self) -> UpdateCaseInformation:
        offender_no = parse.check_offender_no(self.offender_no)
        mappa_level = parse.mappa_level(self.mappa_level)
        return UpdateCaseInformation(
            offender_no=offender_no,
            tier=self.tier,
            probation_service=self.probation_service,
            mappa_level=mappa_level,
            crn=parse.crn(self.crn),
            com_name=parse.text(self.com_name, "comName", parse.NAME_MAX),
            com_email=parse.email(self.com_email),
            team_name=parse.text(self.team_name, "teamName", parse.NAME_MAX),
            ldu_code=parse.text(self.ldu_code, "lduCode", parse.LDU_CODE_MAX),
            manual_entry=self.manual_entry,
            expected_version=parse.expected_version(self.expected_version),
        )


@strawberry.input
class PomDetailsInput:
    staff_id: int
    prison_code: str
    working_pattern: float | None = strawberry.field(
        default=None, description="Fraction of full time, 0.1 .. 1.0 (two decimals at most)."
    )
    status: PomStatus | None = None
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)

    def to_command(self) -> UpdatePomDetails:
        return UpdatePomDetails(
            staff_id=parse.staff_id(self.staff_id),
            prison_code=parse.check_prison_code(self.prison_code),
            working_pattern=parse.working_pattern(self.working_pattern),
            status=self.status,
            expected_version=parse.expected_version(self.expected_version),
        )


@strawberry.input
class SetResponsibilityOverrideInput:
    offender_no: str
    responsibility: ResponsibilityOverride = strawberry.field(
        description="PRISON: the POM stays responsible; PROBATION: the COM is responsible."
    )
    reason: OverrideResponsibilityReason
    reason_text: str | None = strawberry.field(
        default=None, description="Required with OTHER (and only then); at most 500 characters."
    )
    expected_version: int | None = strawberry.field(
        default=None,
        description=_VERSION + " 0: only if there is no override yet.",
    )
    idempotency_key: str | None = strawberry.field(default=None, description=_IDEMPOTENCY)

    def to_command(self) -> SetResponsibilityOverride:
        return SetResponsibilityOverride(
            offender_no=parse.check_offender_no(self.offender_no),
            responsibility=self.responsibility,
            reason=self.reason,
            reason_text=parse.override_reason_text(
                self.reason is OverrideResponsibilityReason.OTHER, self.reason_text
            ),
            expected_version=parse.expected_version(self.expected_version),
            idempotency_key=parse.idempotency_key(self.idempotency_key),
        )


@strawberry.input
class RemoveResponsibilityOverrideInput:
    offender_no: str
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)
    idempotency_key: str | None = strawberry.field(default=None, description=_IDEMPOTENCY)

    def to_command(self) -> RemoveResponsibilityOverride:
        return RemoveResponsibilityOverride(
            offender_no=parse.check_offender_no(self.offender_no),
            expected_version=parse.expected_version(self.expected_version),
            idempotency_key=parse.idempotency_key(self.idempotency_key),
        )


_THD = "Target hearing date; a review needs this or custodyReportDue."
_OUTCOME = (
    'As the Parole Board records it, e.g. "Release", "No Release", "Not Applicable";'
    " at most 200 characters."
)


def _review_fields(
    thd: dt.date | None,
    custody_report_due: dt.date | None,
    outcome: str | None,
    received: dt.date | None,
) -> ParoleReviewFields:
    parse.parole_review_dates(thd, custody_report_due)
    return ParoleReviewFields(
        target_hearing_date=thd,
        custody_report_due=custody_report_due,
        hearing_outcome=parse.hearing_outcome(outcome),
        outcome_received_date=received,
    )


@strawberry.input
class RecordParoleReviewInput:
    offender_no: str
    target_hearing_date: dt.date | None = strawberry.field(default=None, description=_THD)
    custody_report_due: dt.date | None = None
    hearing_outcome: str | None = strawberry.field(default=None, description=_OUTCOME)
    outcome_received_date: dt.date | None = strawberry.field(
        default=None, description="Not in the future."
    )
    idempotency_key: str | None = strawberry.field(default=None, description=_IDEMPOTENCY)

    def to_command(self) -> RecordParoleReview:
        return RecordParoleReview(
            offender_no=parse.check_offender_no(self.offender_no),
            fields=_review_fields(
                self.target_hearing_date,
                self.custody_report_due,
                self.hearing_outcome,
                self.outcome_received_date,
            ),
            idempotency_key=parse.idempotency_key(self.idempotency_key),
        )


@strawberry.input(description="Replaces all four fields of the review (one left out is cleared).")
class UpdateParoleReviewInput:
    offender_no: str
    parole_review_id: int
    target_hearing_date: dt.date | None = strawberry.field(default=None, description=_THD)
    custody_report_due: dt.date | None = None
    hearing_outcome: str | None = strawberry.field(default=None, description=_OUTCOME)
    outcome_received_date: dt.date | None = strawberry.field(
        default=None, description="Not in the future."
    )
    expected_version: int | None = strawberry.field(default=None, description=_VERSION)
    idempotency_key: str | None = strawberry.field(default=None, description=_IDEMPOTENCY)

    def to_command(self) -> UpdateParoleReview:
        return UpdateParoleReview(
            offender_no=parse.check_offender_no(self.offender_no),
            review_id=parse.parole_review_id(self.parole_review_id),
            fields=_review_fields(
                self.target_hearing_date,
                self.custody_report_due,
                self.hearing_outcome,
                self.outcome_received_date,
            ),
            expected_version=parse.expected_version(self.expected_version),
            idempotency_key=parse.idempotency_key(self.idempotency_key),
        )
