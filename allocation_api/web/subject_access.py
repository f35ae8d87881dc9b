"""Subject access requests: `GET /subject-access-request` and its Mustache template.

The national subject-access service calls every HMPPS product with
`?prn=&crn=&fromDate=&toDate=` and renders the answers with one schema that
forbids extra keys, so the body is built from pydantic models with
`extra="forbid"` and serialised by alias: exactly the fields docs/DOMAIN.md
lists, nothing else.

Answers (the service's own conventions): 200 `{"content": {...}}`; 204 when
nothing is held for the prisoner in the range; 209 when only a `crn` is
given (a probation identifier: not ours); 400 when both or neither
identifiers are given; 210 when a date is not `yyyy-MM-dd`; 401 without a
valid token; 403 without `ROLE_SAR_DATA_ACCESS`. Errors are
`{"developerMessage", "errorCode", "status", "userMessage"}` (errorCode 1 no
token, 2 identifiers, 3 crn only, 4 bad date, 5 wrong role). A `prn` that
cannot be a prisoner number identifies nobody held here: 204, and nothing is
read.

What is returned, from the owned tables (`SAR_SECTIONS`; the tables left
out, with why, are `NOT_DISCLOSED`): allocation history events, case
information (without the COM's name and email: probation's to disclose),
early allocation assessments, the responsibility override and the stored
handover. Not held, so null: the calculated early allocation status (no
stored status exists; it is computed live) and the handover progress
checklist. Fields the owned rows do not record are null (`allocatedAtRosh`,
`oasysRiskAssessmentDate`, `createdWithinReferralWindow`, `reason`, `prison`
and the last names of early allocation assessments, `enhancedResourcing`,
`roshLevel`); `activeVlo` is false (no VLO flag is held).

The date range: `fromDate` and `toDate` are inclusive calendar dates (either
may be absent). A record is returned when it was created or last updated
within the range (its `createdAt` or `updatedAt` date, in Europe/London, on
or after `fromDate` and on or before `toDate`): what the service did or
recorded about the person in that period.
"""

from __future__ import annotations

import datetime as dt
import logging

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from allocation_api import calls
from allocation_api.auth.errors import JwksUnavailable
from allocation_api.errors import AllocationApiError, Unauthenticated
from allocation_api.resolvers.context import LONDON, Services
from allocation_api.store.handovers import handovers_by_offender_nos
from allocation_api.store.owned_records import owned_records_by_offender_nos
from allocation_api.store.reads import events_by_offender_nos
from allocation_api.store.views import (
    AllocationEventView,
    CalculatedHandoverView,
    CaseInformationView,
    EarlyAllocationView,
    ResponsibilityOverrideView,
)
from allocation_api.web.handovers import NOMS_NUMBER, READ_METHODS, calls_header, verified
from allocation_api.web.rest import RestRoute

log = logging.getLogger(__name__)

ROLE_SAR_DATA_ACCESS = "ROLE_SAR_DATA_ACCESS"

SAR_SECTIONS: dict[str, str] = {
    "allocation_event": "allocationHistory",
    "case_information": "caseInformation",
    "early_allocation": "earlyAllocations",
    "responsibility_override": "responsibility",
    "calculated_handover": "calculatedHandoverDate",
}
"""Owned tables holding a prisoner number, and the part of the answer each fills."""

NOT_DISCLOSED: dict[str, str] = {
    "allocation": "the current state of the allocation: every change to it, with the same"
    " fields, is an event of allocation_event, disclosed as allocationHistory",
    "parole_review": "target hearing dates and outcomes are the Parole Board's records"
    " (disclosed by its own subject access process), and the national schema of this"
    " product has no section for them (it refuses extra keys)",
    "event_outbox": "outgoing domain events, copies of changes disclosed in allocationHistory"
    " and calculatedHandoverDate, kept only until published plus the retention period",
    "case_event": "the log of changes to the facts disclosed in their own sections"
    " (caseInformation, responsibility, earlyAllocations, handoverProgressChecklist);"
    " the national schema of this product has no section for it (it refuses extra keys)",
}
"""Owned tables holding a prisoner number that the answer leaves out, with the reason."""


class _Forbid(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SarError(_Forbid):
    developer_message: str = Field(alias="developerMessage")
    error_code: int = Field(alias="errorCode")
    status: int
    user_message: str = Field(alias="userMessage")


class AllocationHistoryItem(_Forbid):
    allocated_at_rosh: str | None = Field(alias="allocatedAtRosh")
    allocated_at_tier: str | None = Field(alias="allocatedAtTier")
    created_at: str = Field(alias="createdAt")
    created_by_lastname: str | None = Field(alias="createdByLastname")
    event: str | None
    event_trigger: str | None = Field(alias="eventTrigger")
    message: str | None
    override_detail: str | None = Field(alias="overrideDetail")
    override_reasons: str | None = Field(alias="overrideReasons")
    primary_pom_allocated_at: str | None = Field(alias="primaryPomAllocatedAt")
    prison: str | None
    recommended_pom_type: str | None = Field(alias="recommendedPomType")
    suitability_detail: str | None = Field(alias="suitabilityDetail")
    updated_at: str = Field(alias="updatedAt")


class EarlyAllocationStatus(_Forbid):
    eligible: bool
    created_at: str = Field(alias="createdAt")
    updated_at: str = Field(alias="updatedAt")


class CalculatedHandoverDate(_Forbid):
    start_date: str | None = Field(alias="startDate")
    handover_date: str | None = Field(alias="handoverDate")
    responsibility: str
    last_calculated_at: str | None = Field(alias="lastCalculatedAt")
    reason: str
    created_at: str = Field(alias="createdAt")
    updated_at: str = Field(alias="updatedAt")


class CaseInformationItem(_Forbid):
    tier: str | None
    mappa_level: int | None = Field(alias="mappaLevel")
    manual_entry: bool = Field(alias="manualEntry")
    probation_service: str | None = Field(alias="probationService")
    team_name: str | None = Field(alias="teamName")
    local_delivery_unit: str | None = Field(alias="localDeliveryUnit")
    active_vlo: bool = Field(alias="activeVlo")
    enhanced_resourcing: bool | None = Field(alias="enhancedResourcing")
    rosh_level: str | None = Field(alias="roshLevel")
    created_at: str = Field(alias="createdAt")
    updated_at: str = Field(alias="updatedAt")


class EarlyAllocationItem(_Forbid):
    oasys_risk_assessment_date: str | None = Field(alias="oasysRiskAssessmentDate")
    convicted_under_terrorisom_act_2000: bool = Field(alias="convictedUnderTerrorisomAct2000")
    high_profile: bool = Field(alias="highProfile")
    serious_crime_prevention_order: bool = Field(alias="seriousCrimePreventionOrder")
    mappa_level_3: bool = Field(alias="mappaLevel3")
    cppc_case: bool = Field(alias="cppcCase")
    created_within_referral_window: bool | None = Field(alias="createdWithinReferralWindow")
    high_risk_of_serious_harm: bool | None = Field(alias="highRiskOfSeriousHarm")
    mappa_level_2: bool | None = Field(alias="mappaLevel2")
    pathfinder_process: bool | None = Field(alias="pathfinderProcess")
    other_reason: bool | None = Field(alias="otherReason")
    extremism_separation: bool | None = Field(alias="extremismSeparation")
    due_for_release_in_less_than_24months: bool | None = Field(
        alias="dueForReleaseInLessThan24months"
    )
    approved: bool | None
    community_decision: bool | None = Field(alias="communityDecision")
    reason: str | None
    prison: str | None
    outcome: str
    created_at: str = Field(alias="createdAt")
    updated_at: str = Field(alias="updatedAt")
    created_by_lastname: str | None = Field(alias="createdByLastname")
    updated_by_lastname: str | None = Field(alias="updatedByLastname")


class HandoverProgressChecklist(_Forbid):
    reviewed_oasys: bool = Field(alias="reviewedOasys")
    contacted_com: bool = Field(alias="contactedCom")
    attended_handover_meeting: bool = Field(alias="attendedHandoverMeeting")
    sent_handover_report: bool = Field(alias="sentHandoverReport")
    created_at: str = Field(alias="createdAt")
    updated_at: str = Field(alias="updatedAt")


class ResponsibilityItem(_Forbid):
    reason: str
    reason_text: str | None = Field(alias="reasonText")
    value: str
    created_at: str = Field(alias="createdAt")
    updated_at: str = Field(alias="updatedAt")


class SarContent(_Forbid):
    noms_number: str = Field(alias="nomsNumber")
    allocation_history: list[AllocationHistoryItem] = Field(alias="allocationHistory")
    calculated_early_allocation_status: EarlyAllocationStatus | None = Field(
        alias="calculatedEarlyAllocationStatus"
    )
    calculated_handover_date: CalculatedHandoverDate | None = Field(alias="calculatedHandoverDate")
    case_information: CaseInformationItem | None = Field(alias="caseInformation")
    early_allocations: list[EarlyAllocationItem] = Field(alias="earlyAllocations")
    handover_progress_checklist: HandoverProgressChecklist | None = Field(
        alias="handoverProgressChecklist"
    )
    responsibility: ResponsibilityItem | None


class SarResponse(_Forbid):
    content: SarContent


# --- mapping -----------------------------------------------------------------

_RESPONSIBILITY_NAMES = {
    "CUSTODY_ONLY": "CustodyOnly",
    "CUSTODY_WITH_COM": "CustodyWithCom",
    "COMMUNITY": "Community",
}
_PRIMARY_ALLOCATIONS = {"ALLOCATE_PRIMARY_POM", "REALLOCATE_PRIMARY_POM"}


def _iso(value: dt.datetime) -> str:
    return value.isoformat()


def _lower(value: object | None) -> str | None:
    return None if value is None else str(value).lower()


def _last_name(full_name: str | None) -> str | None:
    """The last word of a recorded display name ("Jane Smith" -> "Smith")."""
    if not full_name or not full_name.strip():
        return None
    return full_name.split()[-1]


def history_item(event: AllocationEventView) -> AllocationHistoryItem:
    created = _iso(event.created_at)
    return AllocationHistoryItem(
        allocated_at_rosh=None,
        allocated_at_tier=None if event.allocated_at_tier is None else str(event.allocated_at_tier),
        created_at=created,
        created_by_lastname=_last_name(event.created_by_name),
        event=_lower(event.event),
        event_trigger=_lower(event.trigger),
        message=event.message,
        override_detail=event.override_detail,
        override_reasons=", ".join(str(r).lower() for r in event.override_reasons) or None,
        primary_pom_allocated_at=created if str(event.event) in _PRIMARY_ALLOCATIONS else None,
        prison=event.prison_code,
        recommended_pom_type=_lower(event.recommended_pom_type),
        suitability_detail=event.suitability_detail,
        updated_at=created,
    )


def handover_item(row: CalculatedHandoverView) -> CalculatedHandoverDate:
    return CalculatedHandoverDate(
        start_date=None if row.start_date is None else row.start_date.isoformat(),
        handover_date=None if row.handover_date is None else row.handover_date.isoformat(),
        responsibility=_RESPONSIBILITY_NAMES[str(row.responsibility)],
        last_calculated_at=_iso(row.last_calculated_at),
        reason=row.reason,
        created_at=_iso(row.created_at),
        updated_at=_iso(row.updated_at),
    )


def case_information_item(row: CaseInformationView) -> CaseInformationItem:
    return CaseInformationItem(
        tier=None if row.tier is None else str(row.tier),
        mappa_level=row.mappa_level,
        manual_entry=row.manual_entry,
        probation_service=None
        if row.probation_service is None
        else str(row.probation_service).capitalize(),
        team_name=row.team_name,
        local_delivery_unit=row.ldu_code,
        active_vlo=row.active_vlo,
        enhanced_resourcing=row.enhanced_resourcing,
        rosh_level=None if row.rosh_level is None else str(row.rosh_level),
        created_at=_iso(row.created_at),
        updated_at=_iso(row.updated_at),
    )


def early_allocation_item(row: EarlyAllocationView) -> EarlyAllocationItem:
    outcome = str(row.outcome)
    created = _iso(row.created_at)
    return EarlyAllocationItem(
        oasys_risk_assessment_date=None,
        convicted_under_terrorisom_act_2000=row.convicted_under_terrorism_act,
        high_profile=row.high_profile,
        serious_crime_prevention_order=row.serious_crime_prevention_order,
        mappa_level_3=row.mappa_level_3,
        cppc_case=row.cppc_case,
        created_within_referral_window=None,
        high_risk_of_serious_harm=row.high_risk_of_serious_harm,
        mappa_level_2=row.mappa_level_2,
        pathfinder_process=row.pathfinder_process,
        other_reason=row.other_reason,
        extremism_separation=row.extremism_separation,
        due_for_release_in_less_than_24months=row.due_for_release_in_less_than_24months,
        approved={"ELIGIBLE": True, "INELIGIBLE": False}.get(outcome),
        community_decision=row.community_decision,
        reason=None,
        prison=None,
        outcome=outcome.lower(),
        created_at=created,
        updated_at=created,
        created_by_lastname=None,
        updated_by_lastname=None,
    )


def responsibility_item(row: ResponsibilityOverrideView) -> ResponsibilityItem:
    return ResponsibilityItem(
        reason=str(row.reason).lower(),
        reason_text=row.reason_text,
        value=str(row.responsibility).capitalize(),
        created_at=_iso(row.created_at),
        updated_at=_iso(row.updated_at),
    )


class DateRange:
    """Inclusive calendar dates; a record is in range when created or updated within it."""

    def __init__(self, start: dt.date | None, end: dt.date | None) -> None:
        self.start, self.end = start, end

    def _day_in(self, moment: dt.datetime) -> bool:
        day = moment.astimezone(LONDON).date()
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)

    def holds(self, created: dt.datetime, updated: dt.datetime | None = None) -> bool:
        return self._day_in(created) or (updated is not None and self._day_in(updated))


async def subject_access_content(
    services: Services, offender_no: str, within: DateRange
) -> SarContent | None:
    """The prisoner's owned records in the range (THREE statements); None when none."""
    reader = services.reads
    owned = (await owned_records_by_offender_nos(reader, [offender_no]))[offender_no]
    events = (await events_by_offender_nos(reader, [offender_no])).get(offender_no, [])
    stored = (await handovers_by_offender_nos(reader, [offender_no])).get(offender_no)
    history = [history_item(e) for e in events if within.holds(e.created_at)]
    case_info = owned.case_information
    override = owned.responsibility_override
    content = SarContent(
        noms_number=offender_no,
        allocation_history=history,
        calculated_early_allocation_status=None,
        calculated_handover_date=handover_item(stored)
        if stored is not None and within.holds(stored.created_at, stored.updated_at)
        else None,
        case_information=case_information_item(case_info)
        if case_info is not None and within.holds(case_info.created_at, case_info.updated_at)
        else None,
        early_allocations=[
            early_allocation_item(a) for a in owned.early_allocations if within.holds(a.created_at)
        ],
        handover_progress_checklist=None,
        responsibility=responsibility_item(override)
        if override is not None and within.holds(override.created_at, override.updated_at)
        else None,
    )
    held = (
        content.allocation_history
        or content.early_allocations
        or content.calculated_handover_date is not None
        or content.case_information is not None
        or content.responsibility is not None
    )
    return content if held else None


TEMPLATE = """\
<h2>Prisoner number: {{nomsNumber}}</h2>
<h3>Allocation history</h3>
{{#allocationHistory}}
<table class="data-table">
  <tr><th>Event</th><td>{{event}}</td></tr>
  <tr><th>Trigger</th><td>{{eventTrigger}}</td></tr>
  <tr><th>Prison</th><td>{{prison}}</td></tr>
  <tr><th>Tier at allocation</th><td>{{allocatedAtTier}}</td></tr>
  <tr><th>RoSH level at allocation</th><td>{{allocatedAtRosh}}</td></tr>
  <tr><th>Recommended POM type</th><td>{{recommendedPomType}}</td></tr>
  <tr><th>Primary POM allocated at</th><td>{{primaryPomAllocatedAt}}</td></tr>
  <tr><th>Override reasons</th><td>{{overrideReasons}}</td></tr>
  <tr><th>Override detail</th><td>{{overrideDetail}}</td></tr>
  <tr><th>Suitability detail</th><td>{{suitabilityDetail}}</td></tr>
  <tr><th>Message</th><td>{{message}}</td></tr>
  <tr><th>Recorded by</th><td>{{createdByLastname}}</td></tr>
  <tr><th>Recorded at</th><td>{{createdAt}}</td></tr>
</table>
{{/allocationHistory}}
{{^allocationHistory}}<p>No allocation history held.</p>{{/allocationHistory}}
<h3>Case information</h3>
{{#caseInformation}}
<table class="data-table">
  <tr><th>Tier</th><td>{{tier}}</td></tr>
  <tr><th>MAPPA level</th><td>{{mappaLevel}}</td></tr>
  <tr><th>Entered manually</th><td>{{manualEntry}}</td></tr>
  <tr><th>Probation service</th><td>{{probationService}}</td></tr>
  <tr><th>Team</th><td>{{teamName}}</td></tr>
  <tr><th>Local delivery unit</th><td>{{localDeliveryUnit}}</td></tr>
  <tr><th>Active VLO</th><td>{{activeVlo}}</td></tr>
  <tr><th>Enhanced resourcing</th><td>{{enhancedResourcing}}</td></tr>
  <tr><th>RoSH level</th><td>{{roshLevel}}</td></tr>
  <tr><th>Created</th><td>{{createdAt}}</td></tr>
  <tr><th>Updated</th><td>{{updatedAt}}</td></tr>
</table>
{{/caseInformation}}
{{^caseInformation}}<p>No case information held.</p>{{/caseInformation}}
<h3>Handover</h3>
{{#calculatedHandoverDate}}
<table class="data-table">
  <tr><th>Responsibility</th><td>{{responsibility}}</td></tr>
  <tr><th>Handover start date</th><td>{{startDate}}</td></tr>
  <tr><th>Handover date</th><td>{{handoverDate}}</td></tr>
  <tr><th>Reason</th><td>{{reason}}</td></tr>
  <tr><th>Last calculated</th><td>{{lastCalculatedAt}}</td></tr>
</table>
{{/calculatedHandoverDate}}
{{^calculatedHandoverDate}}<p>No handover dates held.</p>{{/calculatedHandoverDate}}
{{#handoverProgressChecklist}}
<h3>Handover progress</h3>
<table class="data-table">
  <tr><th>Reviewed OASys</th><td>{{reviewedOasys}}</td></tr>
  <tr><th>Contacted COM</th><td>{{contactedCom}}</td></tr>
  <tr><th>Attended handover meeting</th><td>{{attendedHandoverMeeting}}</td></tr>
  <tr><th>Sent handover report</th><td>{{sentHandoverReport}}</td></tr>
</table>
{{/handoverProgressChecklist}}
<h3>Responsibility override</h3>
{{#responsibility}}
<table class="data-table">
  <tr><th>Responsible</th><td>{{value}}</td></tr>
  <tr><th>Reason</th><td>{{reason}}</td></tr>
  <tr><th>Detail</th><td>{{reasonText}}</td></tr>
  <tr><th>Recorded at</th><td>{{createdAt}}</td></tr>
</table>
{{/responsibility}}
{{^responsibility}}<p>No responsibility override held.</p>{{/responsibility}}
<h3>Early allocation</h3>
{{#calculatedEarlyAllocationStatus}}
<p>Eligible: {{eligible}}</p>
{{/calculatedEarlyAllocationStatus}}
{{#earlyAllocations}}
<table class="data-table">
  <tr><th>Outcome</th><td>{{outcome}}</td></tr>
  <tr><th>Prison</th><td>{{prison}}</td></tr>
  <tr><th>OASys risk assessment date</th><td>{{oasysRiskAssessmentDate}}</td></tr>
  <tr><th>Within the referral window</th><td>{{createdWithinReferralWindow}}</td></tr>
  <tr><th>Reason</th><td>{{reason}}</td></tr>
  <tr><th>Terrorism Act 2000 conviction</th><td>{{convictedUnderTerrorisomAct2000}}</td></tr>
  <tr><th>High profile</th><td>{{highProfile}}</td></tr>
  <tr><th>Serious crime prevention order</th><td>{{seriousCrimePreventionOrder}}</td></tr>
  <tr><th>MAPPA level 3</th><td>{{mappaLevel3}}</td></tr>
  <tr><th>CPPC case</th><td>{{cppcCase}}</td></tr>
  <tr><th>High risk of serious harm</th><td>{{highRiskOfSeriousHarm}}</td></tr>
  <tr><th>MAPPA level 2</th><td>{{mappaLevel2}}</td></tr>
  <tr><th>Pathfinder process</th><td>{{pathfinderProcess}}</td></tr>
  <tr><th>Other reason</th><td>{{otherReason}}</td></tr>
  <tr><th>Extremism separation</th><td>{{extremismSeparation}}</td></tr>
  <tr><th>Release within 24 months</th><td>{{dueForReleaseInLessThan24months}}</td></tr>
  <tr><th>Community decision</th><td>{{communityDecision}}</td></tr>
  <tr><th>Approved</th><td>{{approved}}</td></tr>
  <tr><th>Assessed at</th><td>{{createdAt}}</td></tr>
</table>
{{/earlyAllocations}}
{{^earlyAllocations}}<p>No early allocation assessments held.</p>{{/earlyAllocations}}
"""
"""The product's Mustache template: renders `content` (the national service's data)."""


# --- HTTP --------------------------------------------------------------------


def _json(model: BaseModel, status: int, **headers: str) -> Response:
    return Response(
        model.model_dump_json(by_alias=True), status, headers or None, "application/json"
    )


def sar_error(status: int, code: int, message: str, **headers: str) -> Response:
    return _json(
        SarError(developer_message=message, error_code=code, status=status, user_message=message),
        status,
        **headers,
    )


def _date(value: str | None) -> dt.date | None:
    """`yyyy-MM-dd` or absent; ValueError otherwise."""
    if value is None or value == "":
        return None
    if len(value) != 10:
        raise ValueError(value)
    return dt.date.fromisoformat(value)


async def _authorised(request: Request, services: Services) -> Response | None:
    """None when the caller holds ROLE_SAR_DATA_ACCESS, else the refusal."""
    try:
        identity = await verified(request, services)
    except Unauthenticated as error:
        return sar_error(401, 1, f"Unauthorised: {error.message}", **{"WWW-Authenticate": "Bearer"})
    except JwksUnavailable as error:
        return sar_error(503, 1, f"Service unavailable: {error.message}")
    if not identity.has_role(ROLE_SAR_DATA_ACCESS):
        return sar_error(403, 5, f"Forbidden: needs {ROLE_SAR_DATA_ACCESS}")
    return None


async def report(request: Request) -> Response:
    """`GET /subject-access-request?prn=&crn=&fromDate=&toDate=`."""
    if request.method not in READ_METHODS:
        return sar_error(405, 0, "Method not allowed: use GET", Allow="GET")
    services: Services = request.app.state.services
    with calls.track_calls() as counter:
        response = await _report(request, services)
    if services.settings.is_dev:
        response.headers["x-calls"] = calls_header(counter)
    return response


async def _report(request: Request, services: Services) -> Response:
    refused = await _authorised(request, services)
    if refused is not None:
        return refused
    params = request.query_params
    prn, crn = params.get("prn") or None, params.get("crn") or None
    if prn is not None and crn is not None:
        return sar_error(400, 2, "Only one of prn or crn must be supplied")
    if prn is None and crn is not None:
        return sar_error(209, 3, "Search by crn is not supported: this service holds prison data")
    if prn is None:
        return sar_error(400, 2, "One of prn or crn must be supplied")
    try:
        within = DateRange(_date(params.get("fromDate")), _date(params.get("toDate")))
    except ValueError:
        return sar_error(210, 4, "fromDate and toDate must be dates as yyyy-MM-dd")
    number = prn.strip().upper()
    if NOMS_NUMBER.fullmatch(number) is None:
        return Response(status_code=204)
    try:
        content = await subject_access_content(services, number, within)
    except AllocationApiError as error:
        log.warning("subject access request: %s", error)
        return sar_error(503, 0, f"Service unavailable: {error.message}")
    if content is None:
        return Response(status_code=204)
    return _json(SarResponse(content=content), 200)


async def template(request: Request) -> Response:
    """`GET /subject-access-request/template`: the Mustache template of the answer."""
    if request.method not in READ_METHODS:
        return sar_error(405, 0, "Method not allowed: use GET", Allow="GET")
    services: Services = request.app.state.services
    refused = await _authorised(request, services)
    if refused is not None:
        return refused
    return Response(TEMPLATE, 200, media_type="text/plain")


def content_keys(model: type[BaseModel]) -> list[str]:
    """The JSON keys of a model (for the schema tests)."""
    return [field.alias or name for name, field in model.model_fields.items()]


__all__: list[str] = [
    "NOT_DISCLOSED",
    "SAR_SECTIONS",
    "SarContent",
    "SarResponse",
    "report",
    "subject_access_content",
    "template",
]


def _query(name: str, description: str, fmt: str | None = None) -> dict[str, object]:
    schema: dict[str, object] = {"type": "string"}
    if fmt is not None:
        schema["format"] = fmt
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def routes() -> tuple[RestRoute, ...]:
    """The subject access endpoints for the app's REST registry (served and published)."""
    refusals: dict[int, tuple[type[BaseModel] | None, str]] = {
        401: (SarError, "Missing or invalid bearer token (errorCode 1)"),
        403: (SarError, f"Not a token with {ROLE_SAR_DATA_ACCESS} (errorCode 5)"),
        405: (SarError, "Method other than GET"),
    }
    return (
        RestRoute(
            path="/subject-access-request",
            endpoint=report,
            operation_id="getSubjectAccessRequest",
            summary="Everything held about a prisoner, for the national subject access service",
            tag="subject-access-request",
            role=ROLE_SAR_DATA_ACCESS,
            parameters=(
                _query("prn", "Prisoner number (NOMS number)"),
                _query("crn", "Probation case reference (not this service's identifier)"),
                _query("fromDate", "Earliest date of a record to include", "date"),
                _query("toDate", "Latest date of a record to include", "date"),
            ),
            responses={
                200: (SarResponse, "What is held"),
                204: (None, "Nothing is held about the prisoner"),
                209: (SarError, "Only a crn was given (errorCode 3)"),
                210: (SarError, "A date does not parse (errorCode 4)"),
                400: (SarError, "Both prn and crn, or neither (errorCode 2)"),
                **refusals,
                503: (SarError, "The store or the sign-in service failed"),
            },
        ),
        RestRoute(
            path="/subject-access-request/template",
            endpoint=template,
            operation_id="getSubjectAccessRequestTemplate",
            summary="The Mustache template the national service renders the answer with",
            tag="subject-access-request",
            role=ROLE_SAR_DATA_ACCESS,
            responses={200: (None, "The template"), **refusals},
            text_responses={200: "text/plain"},
        ),
    )
