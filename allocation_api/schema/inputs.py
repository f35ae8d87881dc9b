"""Mutation inputs, and the commands they become.

The GraphQL shapes accept any value of the right type; `to_command` checks
and normalises the values (`schema/parse.py`), so that every failure,
including a malformed prisoner number, comes back as a typed payload member
rather than a GraphQL coercion error.
"""

from __future__ import annotations

import strawberry

from allocation_api.commands.allocate import AllocatePrimary, AllocateSecondary
from allocation_api.commands.case_information import UpdateCaseInformation
from allocation_api.commands.deallocate import Deallocate
from allocation_api.commands.pom_details import UpdatePomDetails
from allocation_api.schema import parse
from allocation_api.schema.enums import OverrideReason, PomStatus, ProbationService, Tier

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
