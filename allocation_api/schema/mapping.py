"""One mapping per GraphQL type: from store rows, upstream models and rule
results to schema types. Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from allocation_api.errors import AllocationApiError
from allocation_api.paging import encode_cursor
from allocation_api.rules.caseload import CaseloadCounts as CaseloadCountsResult
from allocation_api.rules.handover import Handover as HandoverResult
from allocation_api.rules.pom_type import pom_type_for_position
from allocation_api.rules.responsibility import Responsibility as RuleResponsibility
from allocation_api.schema import types as t
from allocation_api.schema.enums import (
    AllocationEventType,
    AllocationTrigger,
    OverrideReason,
    PomStatus,
    PomType,
    ProbationService,
    Responsibility,
    Tier,
)
from allocation_api.schema.unavailable import unavailable
from allocation_api.store.tables import Allocation, AllocationEvent, CaseInformation, PomDetail
from allocation_api.store.views import (
    AllocationEventView,
    AllocationView,
    CaseInformationView,
    PomDetailView,
)
from allocation_api.upstream.models import Prisoner, StaffDetail, StaffRole

FULL_TIME_HOURS = 37.5


# Store values (StrEnum members or their strings) to schema enums by dict lookup:
# an Enum call per value cost more than the rest of building an allocation.
_TIERS = {member.value: member for member in Tier}
_POM_TYPES = {member.value: member for member in PomType}
_REASONS = {member.value: member for member in OverrideReason}
_SERVICES = {member.value: member for member in ProbationService}
_POM_STATUSES = {member.value: member for member in PomStatus}
_RESPONSIBILITIES = {rule: Responsibility(rule.value) for rule in RuleResponsibility}


def responsibility(value: RuleResponsibility) -> Responsibility:
    """The schema's member for the rules' answer."""
    return _RESPONSIBILITIES[value]


def _tier(value: str | None) -> Tier | None:
    return None if value is None else _TIERS.get(value) or Tier(str(value))


def _pom_type(value: str | None) -> PomType | None:
    return None if value is None else _POM_TYPES.get(value) or PomType(str(value))


def _reasons(values: Sequence[str] | None) -> list[OverrideReason]:
    return [_REASONS.get(v) or OverrideReason(str(v)) for v in values or ()]


def sentence(p: Prisoner) -> t.Sentence:
    return t.Sentence(
        sentence_start_date=p.sentenceStartDate,
        release_date=p.releaseDate,
        confirmed_release_date=p.confirmedReleaseDate,
        conditional_release_date=p.conditionalReleaseDate,
        automatic_release_date=p.automaticReleaseDate,
        parole_eligibility_date=p.paroleEligibilityDate,
        home_detention_curfew_eligibility_date=p.homeDetentionCurfewEligibilityDate,
        tariff_date=p.tariffDate,
        licence_expiry_date=p.licenceExpiryDate,
        sentence_expiry_date=p.sentenceExpiryDate,
        topup_supervision_expiry_date=p.topupSupervisionExpiryDate,
        post_recall_release_date=p.postRecallReleaseDate,
        indeterminate=p.indeterminateSentence,
        recall=p.recall,
        imprisonment_status=p.imprisonmentStatus,
        imprisonment_status_description=p.imprisonmentStatusDescription,
    )


def prisoner(p: Prisoner) -> t.Prisoner:
    return t.Prisoner(
        offender_no=p.prisonerNumber,
        first_name=p.firstName,
        last_name=p.lastName,
        date_of_birth=p.dateOfBirth,
        prison_id=p.prisonId,
        legal_status=p.legalStatus,
        cell_location=p.cellLocation,
        category=p.category,
        record=p,
    )


def prisoner_unavailable(offender_no: str, error: AllocationApiError) -> t.Prisoner:
    """A prisoner whose NOMIS data could not be read: owned fields still resolve."""
    gone = unavailable(error)
    return t.Prisoner(
        offender_no=offender_no,
        first_name=gone,
        last_name=gone,
        date_of_birth=gone,
        prison_id=gone,
        legal_status=gone,
        cell_location=gone,
        category=gone,
        record=error,
    )


def case_information(row: CaseInformation | CaseInformationView) -> t.CaseInformation:
    return t.CaseInformation(
        offender_no=row.offender_no,
        tier=_tier(row.tier),
        probation_service=None
        if row.probation_service is None
        else _SERVICES[row.probation_service],
        manual_entry=row.manual_entry,
        mappa_level=row.mappa_level,
        crn=row.crn,
        com_name=row.com_name,
        com_email=row.com_email,
        team_name=row.team_name,
        ldu_code=row.ldu_code,
        version=row.version,
        updated_at=row.updated_at,
    )


def allocation(row: Allocation | AllocationView) -> t.Allocation:
    return t.Allocation(
        offender_no=row.offender_no,
        prison_code=row.prison_code,
        primary_pom_staff_id=row.primary_pom_staff_id,
        primary_pom_name=row.primary_pom_name,
        primary_pom_allocated_at=row.primary_pom_allocated_at,
        secondary_pom_staff_id=row.secondary_pom_staff_id,
        secondary_pom_name=row.secondary_pom_name,
        allocated_at_tier=_tier(row.allocated_at_tier),
        recommended_pom_type=_pom_type(row.recommended_pom_type),
        override_reasons=_reasons(row.override_reasons),
        override_detail=row.override_detail,
        suitability_detail=row.suitability_detail,
        message=row.message,
        created_by=row.created_by_username,
        created_by_name=row.created_by_name,
        version=row.version,
        updated_at=row.updated_at,
    )


def event(row: AllocationEvent | AllocationEventView) -> t.AllocationEvent:
    return t.AllocationEvent(
        event=AllocationEventType(str(row.event)),
        trigger=AllocationTrigger(str(row.trigger)),
        primary_pom_staff_id=row.primary_pom_staff_id,
        primary_pom_name=row.primary_pom_name,
        secondary_pom_staff_id=row.secondary_pom_staff_id,
        secondary_pom_name=row.secondary_pom_name,
        previous_primary_pom_staff_id=row.previous_primary_pom_staff_id,
        previous_secondary_pom_staff_id=row.previous_secondary_pom_staff_id,
        prison_code=row.prison_code,
        allocated_at_tier=_tier(row.allocated_at_tier),
        recommended_pom_type=_pom_type(row.recommended_pom_type),
        override_reasons=_reasons(row.override_reasons),
        override_detail=row.override_detail,
        suitability_detail=row.suitability_detail,
        message=row.message,
        created_by=row.created_by_username,
        created_by_name=row.created_by_name,
        created_at=row.created_at,
        allocation_version=row.allocation_version,
    )


def default_working_pattern(role: StaffRole | None) -> float:
    """Before anyone records one: full time, or contracted hours over 37.5, in tenths."""
    if role is None or role.scheduleType != "PT" or not role.hoursPerWeek:
        return 1.0
    return min(1.0, max(0.1, round(role.hoursPerWeek / FULL_TIME_HOURS, 1)))


POM_DETAIL_FIELDS = frozenset({"status", "workingPattern"})
"""The Pom fields answered from the owned POM details (the rest come from NOMIS)."""


class NotRead:
    """The POM details were not read: the query selected no `POM_DETAIL_FIELDS`."""


NOT_READ = NotRead()


_DETAIL_NOT_READ: Any = unavailable(AllocationApiError("POM details were not read for this query"))
"""Fills the detail fields of a POM built without its details (one shared marker:
building an exception per POM showed in the page's profile). Never seen by a
client unless a resolver misjudged what the query selects: then the field
errors at its path instead of answering a default that may be wrong."""


def pom(
    staff_id: int,
    prison_code: str,
    *,
    role: StaffRole | None,
    staff: StaffDetail | None,
    detail: PomDetail | PomDetailView | NotRead | None,
    recorded_name: str | None = None,
) -> t.Pom:
    """A POM from its role row (if it still holds the role), staff row and owned details.

    A POM who no longer holds the role (moved on since the allocation) keeps
    the name recorded at allocation when NOMIS no longer knows them. `detail`
    is NOT_READ when the query asks for none of `POM_DETAIL_FIELDS`.
    """
    first = role.firstName if role else staff.firstName if staff else None
    last = role.lastName if role else staff.lastName if staff else None
    if first is None and last is None and recorded_name:
        first, _, last = recorded_name.partition(" ")
    status, pattern = _detail_fields(detail, role)
    rule_type = pom_type_for_position(role.position if role else None)
    return t.Pom(
        staff_id=staff_id,
        prison_code=prison_code,
        first_name=first,
        last_name=last,
        email=role.emailAddress if role else None,
        position=role.position if role else None,
        pom_type=None if rule_type is None else _POM_TYPES[rule_type.value],
        status=status,
        working_pattern=pattern,
    )


def _detail_fields(
    detail: PomDetail | PomDetailView | NotRead | None, role: StaffRole | None
) -> tuple[Any, Any]:
    """(status, working pattern): recorded, defaulted from the role, or not read."""
    if isinstance(detail, NotRead):
        return _DETAIL_NOT_READ, _DETAIL_NOT_READ
    if detail is not None:
        return _POM_STATUSES[detail.status], float(detail.working_pattern)
    status = PomStatus.ACTIVE if role is not None else PomStatus.INACTIVE
    return status, default_working_pattern(role)


def pom_unavailable(
    staff_id: int,
    prison_code: str,
    detail: PomDetail | PomDetailView | NotRead | None,
    error: AllocationApiError,
) -> t.Pom:
    gone = unavailable(error)
    # Without NOMIS, a POM with no recorded details is taken as active, full time.
    status, pattern = (
        (PomStatus.ACTIVE, 1.0) if detail is None else _detail_fields(detail, role=None)
    )
    return t.Pom(
        staff_id=staff_id,
        prison_code=prison_code,
        first_name=gone,
        last_name=gone,
        email=gone,
        position=gone,
        pom_type=gone,
        status=status,
        working_pattern=pattern,
    )


def handover(result: HandoverResult) -> t.Handover:
    return t.Handover(
        responsibility=_RESPONSIBILITIES[result.responsibility],
        handover_date=result.handover_date,
        start_date=result.start_date,
        reason=result.reason.value,
    )


def caseload_counts(counts: CaseloadCountsResult) -> t.CaseloadCounts:
    by_tier = counts.by_tier
    return t.CaseloadCounts(
        primary=counts.primary,
        coworking=counts.coworking,
        responsible=counts.responsible,
        supporting=counts.supporting,
        total=counts.total,
        new_last_7_days=counts.new_last_7_days,
        tier_a=by_tier.get("A", 0),
        tier_b=by_tier.get("B", 0),
        tier_c=by_tier.get("C", 0),
        tier_d=by_tier.get("D", 0),
        tier_unknown=by_tier.get("unknown", 0),
        upcoming_handovers=counts.upcoming_handovers,
    )


def page_info(start: int, end: int, total: int) -> t.PageInfo:
    return t.PageInfo(
        has_next_page=end < total,
        has_previous_page=start > 0,
        start_cursor=encode_cursor(start) if end > start else None,
        end_cursor=encode_cursor(end - 1) if end > start else None,
    )
