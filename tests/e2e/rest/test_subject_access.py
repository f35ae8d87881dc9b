"""Subject access requests: the shape, status codes and error bodies of docs/DOMAIN.md,
the date range, and every owned table with a prisoner number accounted for."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from sqlmodel import SQLModel

from allocation_api.commands.unit_of_work import UnitOfWork
from allocation_api.store.handovers import SessionReader
from allocation_api.web import subject_access
from tests.commands.test_handover_recalculation import DETERMINATE_WITH_PED
from tests.conftest import RunningApi
from tests.e2e.api.helpers import active_poms, allocate, fresh_prisoner, set_tier

SAR_ROLES = ("ROLE_SAR_DATA_ACCESS",)


async def get(
    api: RunningApi, path: str, token: str | None, method: str = "GET"
) -> tuple[int, Any, dict[str, str], bytes]:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    async with api.http.request(method, f"{api.url}{path}", headers=headers) as response:
        raw = await response.read()
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = None
        return response.status, body, dict(response.headers), raw


async def sar_token(api: RunningApi) -> str:
    return await api.token(None, roles=SAR_ROLES)


def error(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "developerMessage": message,
        "errorCode": code,
        "status": status,
        "userMessage": message,
    }


async def _execute(api: RunningApi, sql: str, *args: Any) -> None:
    async with UnitOfWork(api.app.state.services.sessions).transaction() as session:
        await SessionReader(session).execute(sql, *args)


async def _held_prisoner(api: RunningApi) -> tuple[str, dict[str, Any]]:
    """A prisoner with case information, an allocation, a stored handover, an early
    allocation assessment and a responsibility override."""
    no = await fresh_prisoner(api, "BXI")
    api.sandbox.data.update_prisoner(no, **DETERMINATE_WITH_PED)
    await set_tier(
        api,
        no,
        "C",
        mappaLevel=1,
        comName="Jo Bloggs",
        comEmail="jo@example.org",
        teamName="Team A",
        lduCode="LDU1",
    )
    pom = next(p for p in await active_poms(api, "BXI") if p["pomType"] == "PRISON")
    assert (await allocate(api, no, pom["staffId"], message="Hello"))["__typename"] == "Allocation"
    await _execute(
        api,
        "INSERT INTO early_allocation (offender_no, outcome, convicted_under_terrorism_act,"
        " high_profile, serious_crime_prevention_order, mappa_level_3, cppc_case,"
        " extremism_separation) VALUES ($1, 'INELIGIBLE', false, false, false, false, false,"
        " true)",
        no,
    )
    await _execute(
        api,
        "INSERT INTO responsibility_override (offender_no, responsibility, reason, reason_text)"
        " VALUES ($1, 'PROBATION', 'OTHER', 'Agreed with the COM')",
        no,
    )
    await _execute(
        api,
        "UPDATE case_information SET rosh_level = 'HIGH', enhanced_resourcing = true,"
        " active_vlo = true WHERE offender_no = $1",
        no,
    )
    return no, pom


async def test_content_has_exactly_the_contract_fields(api: RunningApi) -> None:
    no, _ = await _held_prisoner(api)
    status, body, headers, _ = await get(
        api, f"/subject-access-request?prn={no}", await sar_token(api)
    )
    assert status == 200, body
    assert headers["x-calls"] == "upstream=0; store=3"
    assert list(body) == ["content"]
    content = body["content"]
    assert list(content) == [
        "nomsNumber",
        "allocationHistory",
        "calculatedEarlyAllocationStatus",
        "calculatedHandoverDate",
        "caseInformation",
        "earlyAllocations",
        "handoverProgressChecklist",
        "responsibility",
    ]
    assert content["nomsNumber"] == no
    assert content["calculatedEarlyAllocationStatus"] is None
    assert content["handoverProgressChecklist"] is None

    [event] = content["allocationHistory"]
    created = event["createdAt"]
    assert isinstance(event["createdByLastname"], str)  # the SPO's recorded last name
    assert " " not in event["createdByLastname"]
    assert event == {
        "allocatedAtRosh": None,
        "allocatedAtTier": "C",
        "createdAt": created,
        "createdByLastname": event["createdByLastname"],
        "event": "allocate_primary_pom",
        "eventTrigger": "user",
        "message": "Hello",
        "overrideDetail": None,
        "overrideReasons": None,
        "primaryPomAllocatedAt": created,
        "prison": "BXI",
        "recommendedPomType": "prison",
        "suitabilityDetail": None,
        "updatedAt": created,
    }
    case_info = content["caseInformation"]
    assert case_info == {
        "tier": "C",
        "mappaLevel": 1,
        "manualEntry": True,
        "probationService": "England",
        "teamName": "Team A",
        "localDeliveryUnit": "LDU1",
        "activeVlo": True,
        "enhancedResourcing": True,
        "roshLevel": "HIGH",
        "createdAt": case_info["createdAt"],
        "updatedAt": case_info["updatedAt"],
    }
    assert "Jo Bloggs" not in str(body)  # the COM is probation's to disclose
    handover = content["calculatedHandoverDate"]
    assert {k: handover[k] for k in ("startDate", "handoverDate", "responsibility", "reason")} == {
        "startDate": "2029-06-15",
        "handoverDate": "2029-06-15",
        "responsibility": "CustodyOnly",
        "reason": "DETERMINATE_PED",
    }
    assert set(handover) == {
        "startDate",
        "handoverDate",
        "responsibility",
        "lastCalculatedAt",
        "reason",
        "createdAt",
        "updatedAt",
    }
    [early] = content["earlyAllocations"]
    assert early == {
        "oasysRiskAssessmentDate": None,
        "convictedUnderTerrorisomAct2000": False,
        "highProfile": False,
        "seriousCrimePreventionOrder": False,
        "mappaLevel3": False,
        "cppcCase": False,
        "createdWithinReferralWindow": None,
        "highRiskOfSeriousHarm": None,
        "mappaLevel2": None,
        "pathfinderProcess": None,
        "otherReason": None,
        "extremismSeparation": True,
        "dueForReleaseInLessThan24months": None,
        "approved": False,
        "communityDecision": None,
        "reason": None,
        "prison": None,
        "outcome": "ineligible",
        "createdAt": early["createdAt"],
        "updatedAt": early["createdAt"],
        "createdByLastname": None,
        "updatedByLastname": None,
    }
    responsibility = content["responsibility"]
    assert responsibility == {
        "reason": "other",
        "reasonText": "Agreed with the COM",
        "value": "Probation",
        "createdAt": responsibility["createdAt"],
        "updatedAt": responsibility["createdAt"],
    }
    # Lower case prn is the same person.
    status, same, _, _ = await get(
        api, f"/subject-access-request?prn={no.lower()}", await sar_token(api)
    )
    assert (status, same) == (200, body)


async def test_the_date_range_filters_by_created_or_updated_date(api: RunningApi) -> None:
    no, _ = await _held_prisoner(api)
    token = await sar_token(api)
    today = dt.datetime.now(subject_access.LONDON).date()
    tomorrow, yesterday = today + dt.timedelta(days=1), today - dt.timedelta(days=1)
    status, body, _, _ = await get(
        api, f"/subject-access-request?prn={no}&fromDate={today}&toDate={today}", token
    )
    assert status == 200
    assert len(body["content"]["allocationHistory"]) == 1
    # Everything was recorded today: a range before or after holds nothing.
    for start, end in ((tomorrow, None), (None, yesterday), (yesterday, yesterday)):
        query = (
            f"prn={no}"
            + (f"&fromDate={start}" if start else "")
            + (f"&toDate={end}" if end else "")
        )
        status, body, _, raw = await get(api, f"/subject-access-request?{query}", token)
        assert (status, raw) == (204, b""), query

    # Backdate the history event: only a range covering its date returns it.
    await _execute(api, "ALTER TABLE allocation_event DISABLE TRIGGER USER")
    try:
        await _execute(
            api,
            "UPDATE allocation_event SET created_at = '2025-03-01T12:00:00Z' WHERE offender_no = $1",
            no,
        )
    finally:
        await _execute(api, "ALTER TABLE allocation_event ENABLE TRIGGER USER")
    status, body, _, _ = await get(
        api, f"/subject-access-request?prn={no}&fromDate=2025-03-01&toDate=2025-03-01", token
    )
    assert status == 200
    assert [e["createdAt"][:10] for e in body["content"]["allocationHistory"]] == ["2025-03-01"]
    assert body["content"]["caseInformation"] is None
    assert body["content"]["earlyAllocations"] == []


async def test_status_codes_and_error_bodies(api: RunningApi) -> None:
    token = await sar_token(api)
    nobody = "Z9999ZZ"  # a well-formed number nobody holds anything about
    cases: list[tuple[str, str | None, int, Any]] = [
        (f"?prn={nobody}", token, 204, None),
        ("?prn=NOT-A-NUMBER", token, 204, None),
        (
            f"?prn={nobody}&crn=X123456",
            token,
            400,
            error(400, 2, "Only one of prn or crn must be supplied"),
        ),
        ("", token, 400, error(400, 2, "One of prn or crn must be supplied")),
        (
            "?crn=X123456",
            token,
            209,
            error(209, 3, "Search by crn is not supported: this service holds prison data"),
        ),
        (
            f"?prn={nobody}&fromDate=01/02/2024",
            token,
            210,
            error(210, 4, "fromDate and toDate must be dates as yyyy-MM-dd"),
        ),
        (
            f"?prn={nobody}&toDate=2024-13-01",
            token,
            210,
            error(210, 4, "fromDate and toDate must be dates as yyyy-MM-dd"),
        ),
    ]
    for query, caller, status, expected in cases:
        got, body, headers, raw = await get(api, f"/subject-access-request{query}", caller)
        assert (got, body) == (status, expected), query
        if status != 204 or "NOT" in query:
            # Refused by validation: nothing read.
            assert headers["x-calls"] == "upstream=0; store=0", query
        if status == 204:
            assert raw == b""

    # The permission matrix, for both endpoints.
    spo = await api.token()
    reader = await api.token(None, roles=("ROLE_VIEW_POM_ALLOCATIONS",))
    person_with_role = await api.token("SAR_PERSON", roles=SAR_ROLES)
    for path in (f"/subject-access-request?prn={nobody}", "/subject-access-request/template"):
        got, body, _, _ = await get(api, path, None)
        assert got == 401
        assert body["errorCode"] == 1
        assert body["status"] == 401
        assert set(body) == {"developerMessage", "errorCode", "status", "userMessage"}
        got, body, _, _ = await get(api, path, "garbage")
        assert (got, body["errorCode"]) == (401, 1)
        for wrong in (spo, reader):
            got, body, _, _ = await get(api, path, wrong)
            assert (got, body) == (403, error(403, 5, "Forbidden: needs ROLE_SAR_DATA_ACCESS"))
        got, _, _, _ = await get(api, path, person_with_role)
        assert got in (200, 204)
        got, _, _, _ = await get(api, path, token, "POST")
        assert got == 405


async def test_template_is_mustache_text(api: RunningApi) -> None:
    status, _, headers, raw = await get(
        api, "/subject-access-request/template", await sar_token(api)
    )
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    text = raw.decode()
    assert text == subject_access.TEMPLATE
    # Every section and field of the content is rendered somewhere.
    for model in (
        subject_access.SarContent,
        subject_access.AllocationHistoryItem,
        subject_access.CaseInformationItem,
        subject_access.CalculatedHandoverDate,
        subject_access.EarlyAllocationItem,
        subject_access.ResponsibilityItem,
        subject_access.HandoverProgressChecklist,
        subject_access.EarlyAllocationStatus,
    ):
        for key in subject_access.content_keys(model):
            if key in {"createdAt", "updatedAt", "createdByLastname", "updatedByLastname"}:
                continue
            assert "{{" + key in text or "{{#" + key in text, (model.__name__, key)


def test_every_owned_table_with_a_prisoner_number_is_disclosed_or_excused() -> None:
    with_prisoner = {
        table.name for table in SQLModel.metadata.sorted_tables if "offender_no" in table.columns
    }
    disclosed, excused = set(subject_access.SAR_SECTIONS), set(subject_access.NOT_DISCLOSED)
    assert not disclosed & excused
    missing = with_prisoner - disclosed - excused
    assert not missing, f"add these tables to the subject access answer or NOT_DISCLOSED: {missing}"
    assert disclosed | excused == with_prisoner  # no stale names either
    assert all(reason.strip() for reason in subject_access.NOT_DISCLOSED.values())
    content_keys = set(subject_access.content_keys(subject_access.SarContent))
    assert set(subject_access.SAR_SECTIONS.values()) <= content_keys
