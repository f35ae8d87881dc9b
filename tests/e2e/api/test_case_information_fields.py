"""The probation record's facts on CaseInformation (ROSH, resourcing, VLO, import time)."""

from __future__ import annotations

from allocation_api.commands.unit_of_work import UnitOfWork
from allocation_api.store.handovers import SessionReader
from tests.conftest import RunningApi
from tests.e2e.api.helpers import ready_prisoner_and_pom

FIELDS = """query($no: String!) { prisoner(offenderNo: $no) { caseInformation {
  roshLevel roshStartDate enhancedResourcing activeVlo importedAt manualEntry } } }"""


async def test_probation_facts_read_as_stored(api: RunningApi) -> None:
    no, _ = await ready_prisoner_and_pom(api)
    body = await api.gql(FIELDS, {"no": no})
    assert "errors" not in body, body
    # Typed in by hand: nothing from probation yet.
    assert body["data"]["prisoner"]["caseInformation"] == {
        "roshLevel": None,
        "roshStartDate": None,
        "enhancedResourcing": None,
        "activeVlo": False,
        "importedAt": None,
        "manualEntry": True,
    }
    async with UnitOfWork(api.app.state.services.sessions).transaction() as session:
        await SessionReader(session).execute(
            "UPDATE case_information SET rosh_level = 'VERY_HIGH', rosh_start_date = '2025-02-03',"
            " enhanced_resourcing = true, active_vlo = true,"
            " imported_at = '2026-12-01T10:00:00+00:00', manual_entry = false"
            " WHERE offender_no = $1",
            no,
        )
    body = await api.gql(FIELDS, {"no": no})
    facts = body["data"]["prisoner"]["caseInformation"]
    assert facts["roshLevel"] == "VERY_HIGH"
    assert facts["roshStartDate"] == "2025-02-03"
    assert (facts["enhancedResourcing"], facts["activeVlo"], facts["manualEntry"]) == (
        True,
        True,
        False,
    )
    assert facts["importedAt"].startswith("2026-12-01T10:00:00")
