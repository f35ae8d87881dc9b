"""The graph's value types: objects without fields of their own to resolve.

Sentence facts, case information, handover, history events, counts and page
information are built whole from a row, a record or a rule answer by the
functions below (pure, no I/O) and answer every field from attributes. The
types whose fields read more (prisoner, allocation, POM, prison) are in
`types.py`, which builds these for them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import strawberry

from allocation_api.paging import encode_cursor
from allocation_api.rules.caseload import CaseloadCounts as CaseloadCountsResult
from allocation_api.rules.handover import Handover as HandoverResult
from allocation_api.schema.enums import (
    AllocationEventType,
    AllocationTrigger,
    OverrideReason,
    PomType,
    ProbationService,
    Responsibility,
    RoshLevel,
    Tier,
)
from allocation_api.schema.permissions import INHERIT
from allocation_api.schema.stored_handover import StoredHandover, resolve_differs, resolve_stored
from allocation_api.store.tables import CaseInformation as CaseInformationRow
from allocation_api.store.views import AllocationEventView, CaseInformationView
from allocation_api.upstream import models as nomis


@strawberry.type(description="Relay-style page information.")
class PageInfo:
    has_next_page: bool = strawberry.field(metadata=INHERIT)
    has_previous_page: bool = strawberry.field(metadata=INHERIT)
    start_cursor: str | None = strawberry.field(metadata=INHERIT)
    end_cursor: str | None = strawberry.field(metadata=INHERIT)


@strawberry.type(description="Sentence facts as NOMIS holds them (read live from prisoner search).")
class Sentence:
    sentence_start_date: dt.date | None = strawberry.field(metadata=INHERIT)
    release_date: dt.date | None = strawberry.field(metadata=INHERIT)
    confirmed_release_date: dt.date | None = strawberry.field(metadata=INHERIT)
    conditional_release_date: dt.date | None = strawberry.field(metadata=INHERIT)
    automatic_release_date: dt.date | None = strawberry.field(metadata=INHERIT)
    parole_eligibility_date: dt.date | None = strawberry.field(metadata=INHERIT)
    home_detention_curfew_eligibility_date: dt.date | None = strawberry.field(metadata=INHERIT)
    tariff_date: dt.date | None = strawberry.field(metadata=INHERIT)
    licence_expiry_date: dt.date | None = strawberry.field(metadata=INHERIT)
    sentence_expiry_date: dt.date | None = strawberry.field(metadata=INHERIT)
    topup_supervision_expiry_date: dt.date | None = strawberry.field(metadata=INHERIT)
    post_recall_release_date: dt.date | None = strawberry.field(metadata=INHERIT)
    indeterminate: bool | None = strawberry.field(metadata=INHERIT)
    recall: bool | None = strawberry.field(metadata=INHERIT)
    imprisonment_status: str | None = strawberry.field(metadata=INHERIT)
    imprisonment_status_description: str | None = strawberry.field(metadata=INHERIT)


@strawberry.type(description="Case information recorded by this service (one per prisoner).")
class CaseInformation:
    offender_no: str = strawberry.field(metadata=INHERIT)
    tier: Tier | None = strawberry.field(metadata=INHERIT)
    probation_service: ProbationService | None = strawberry.field(metadata=INHERIT)
    manual_entry: bool = strawberry.field(metadata=INHERIT)
    mappa_level: int | None = strawberry.field(metadata=INHERIT)
    crn: str | None = strawberry.field(metadata=INHERIT)
    com_name: str | None = strawberry.field(metadata=INHERIT)
    com_email: str | None = strawberry.field(metadata=INHERIT)
    team_name: str | None = strawberry.field(metadata=INHERIT)
    ldu_code: str | None = strawberry.field(metadata=INHERIT)
    rosh_level: RoshLevel | None = strawberry.field(
        metadata=INHERIT, description="Risk of serious harm level (probation's record)."
    )
    rosh_start_date: dt.date | None = strawberry.field(metadata=INHERIT)
    enhanced_resourcing: bool | None = strawberry.field(
        metadata=INHERIT,
        description="Whether the case has enhanced handover resourcing; null: not known.",
    )
    active_vlo: bool = strawberry.field(
        metadata=INHERIT, description="Whether a victim liaison officer is assigned."
    )
    imported_at: dt.datetime | None = strawberry.field(
        metadata=INHERIT,
        description="When probation's record was last read into these facts; null: typed in.",
    )
    version: int = strawberry.field(metadata=INHERIT)
    updated_at: dt.datetime = strawberry.field(metadata=INHERIT)


@strawberry.type(description="When responsibility passes from the POM to the community (COM).")
class Handover:
    responsibility: Responsibility = strawberry.field(metadata=INHERIT)
    handover_date: dt.date | None = strawberry.field(metadata=INHERIT)
    start_date: dt.date | None = strawberry.field(metadata=INHERIT)
    reason: str = strawberry.field(
        metadata=INHERIT, description="Machine-readable rule that decided."
    )
    stored: StoredHandover | None = strawberry.field(
        resolver=resolve_stored,
        metadata=INHERIT,
        description="The handover as stored for other services; null when none is stored.",
    )
    differs_from_stored: bool | None = strawberry.field(
        resolver=resolve_differs,
        metadata=INHERIT,
        description="Whether the stored handover differs from this live one; null when none"
        " is stored.",
    )
    offender_no: strawberry.Private[str | None] = None
    live: strawberry.Private[HandoverResult | None] = None


@strawberry.type(description="Counts of a POM's cases (computed from owned and live data).")
class CaseloadCounts:
    primary: int = strawberry.field(metadata=INHERIT)
    coworking: int = strawberry.field(metadata=INHERIT)
    responsible: int = strawberry.field(metadata=INHERIT)
    supporting: int = strawberry.field(metadata=INHERIT)
    total: int = strawberry.field(metadata=INHERIT)
    new_last_7_days: int = strawberry.field(metadata=INHERIT)
    tier_a: int = strawberry.field(metadata=INHERIT)
    tier_b: int = strawberry.field(metadata=INHERIT)
    tier_c: int = strawberry.field(metadata=INHERIT)
    tier_d: int = strawberry.field(metadata=INHERIT)
    tier_unknown: int = strawberry.field(metadata=INHERIT)
    upcoming_handovers: int = strawberry.field(metadata=INHERIT)


@strawberry.type(description="One immutable change in a prisoner's allocation history.")
class AllocationEvent:
    event: AllocationEventType = strawberry.field(metadata=INHERIT)
    trigger: AllocationTrigger = strawberry.field(metadata=INHERIT)
    primary_pom_staff_id: int | None = strawberry.field(metadata=INHERIT)
    primary_pom_name: str | None = strawberry.field(metadata=INHERIT)
    secondary_pom_staff_id: int | None = strawberry.field(metadata=INHERIT)
    secondary_pom_name: str | None = strawberry.field(metadata=INHERIT)
    previous_primary_pom_staff_id: int | None = strawberry.field(metadata=INHERIT)
    previous_secondary_pom_staff_id: int | None = strawberry.field(metadata=INHERIT)
    prison_code: str = strawberry.field(metadata=INHERIT)
    allocated_at_tier: Tier | None = strawberry.field(metadata=INHERIT)
    recommended_pom_type: PomType | None = strawberry.field(metadata=INHERIT)
    override_reasons: list[OverrideReason] = strawberry.field(metadata=INHERIT)
    override_detail: str | None = strawberry.field(metadata=INHERIT)
    suitability_detail: str | None = strawberry.field(metadata=INHERIT)
    message: str | None = strawberry.field(metadata=INHERIT)
    created_by: str | None = strawberry.field(metadata=INHERIT, description="Username.")
    created_by_name: str | None = strawberry.field(metadata=INHERIT)
    created_at: dt.datetime = strawberry.field(metadata=INHERIT)
    allocation_version: int = strawberry.field(metadata=INHERIT)


@strawberry.type(description="Counts over the prison's prisoners in scope of OMiC.")
class PrisonSummary:
    total: int = strawberry.field(metadata=INHERIT)
    allocated: int = strawberry.field(metadata=INHERIT)
    unallocated: int = strawberry.field(metadata=INHERIT)
    missing_case_information: int = strawberry.field(metadata=INHERIT)


# The store hands back the rules' enum members, which are the schema's; a value
# that is still text (a row rebuilt from JSON) is looked up, not called: an Enum
# call per value cost more than the rest of building an allocation.
_TIERS = {member.value: member for member in Tier}
_POM_TYPES = {member.value: member for member in PomType}
_REASONS = {member.value: member for member in OverrideReason}


def as_tier(value: str | None) -> Tier | None:
    return None if value is None else _TIERS.get(value) or Tier(str(value))


def as_pom_type(value: str | None) -> PomType | None:
    return None if value is None else _POM_TYPES.get(value) or PomType(str(value))


def as_reasons(values: Sequence[str] | None) -> list[OverrideReason]:
    return [_REASONS.get(v) or OverrideReason(str(v)) for v in values or ()]


def sentence(p: nomis.Prisoner) -> Sentence:
    return Sentence(
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


def case_information(row: CaseInformationRow | CaseInformationView) -> CaseInformation:
    return CaseInformation(
        offender_no=row.offender_no,
        tier=as_tier(row.tier),
        probation_service=row.probation_service,
        manual_entry=row.manual_entry,
        mappa_level=row.mappa_level,
        crn=row.crn,
        com_name=row.com_name,
        com_email=row.com_email,
        team_name=row.team_name,
        ldu_code=row.ldu_code,
        rosh_level=row.rosh_level,
        rosh_start_date=row.rosh_start_date,
        enhanced_resourcing=row.enhanced_resourcing,
        active_vlo=row.active_vlo,
        imported_at=row.imported_at,
        version=row.version,
        updated_at=row.updated_at,
    )


def event(row: AllocationEventView) -> AllocationEvent:
    return AllocationEvent(
        event=row.event,
        trigger=row.trigger,
        primary_pom_staff_id=row.primary_pom_staff_id,
        primary_pom_name=row.primary_pom_name,
        secondary_pom_staff_id=row.secondary_pom_staff_id,
        secondary_pom_name=row.secondary_pom_name,
        previous_primary_pom_staff_id=row.previous_primary_pom_staff_id,
        previous_secondary_pom_staff_id=row.previous_secondary_pom_staff_id,
        prison_code=row.prison_code,
        allocated_at_tier=as_tier(row.allocated_at_tier),
        recommended_pom_type=as_pom_type(row.recommended_pom_type),
        override_reasons=as_reasons(row.override_reasons),
        override_detail=row.override_detail,
        suitability_detail=row.suitability_detail,
        message=row.message,
        created_by=row.created_by_username,
        created_by_name=row.created_by_name,
        created_at=row.created_at,
        allocation_version=row.allocation_version,
    )


def handover(result: HandoverResult, offender_no: str | None = None) -> Handover:
    return Handover(
        responsibility=result.responsibility,
        handover_date=result.handover_date,
        start_date=result.start_date,
        reason=result.reason.value,
        offender_no=offender_no,
        live=result,
    )


def caseload_counts(counts: CaseloadCountsResult) -> CaseloadCounts:
    by_tier = counts.by_tier
    return CaseloadCounts(
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


def page_info(start: int, end: int, total: int) -> PageInfo:
    return PageInfo(
        has_next_page=end < total,
        has_previous_page=start > 0,
        start_cursor=encode_cursor(start) if end > start else None,
        end_cursor=encode_cursor(end - 1) if end > start else None,
    )
