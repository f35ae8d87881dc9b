"""Who may read a prisoner whose prison cannot be established.

Access to a prisoner hangs on their prison (the caller's caseloads). When
NOMIS cannot say where a prisoner is (prisoner search down, or a record
with no prison) and the store holds no allocation, there is no prison to
grant access by: only the reading services may see what we hold. These
ran against a second API instance (no retries) so that the injected
prisoner-search outage cannot trip the session API's circuit breaker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from allocation_api.sandbox import Fault, Sandbox
from tests.conftest import RunningApi, running_api, settings_for
from tests.e2e.access.helpers import assert_forbidden_at
from tests.e2e.api.helpers import allocate, fresh_prisoner, ready_prisoner_and_pom, set_tier

READ = """query($no: String!) { prisoner(offenderNo: $no) {
  offenderNo firstName dateOfBirth caseInformation { tier crn comName }
  allocation { primaryPomStaffId } } }"""


@pytest.fixture(scope="module")
async def isolated(sandbox: Sandbox, database_url: str) -> AsyncIterator[RunningApi]:
    settings = settings_for(sandbox, database_url, upstream_retries=0)
    async with running_api(settings, sandbox) as running:
        yield running


async def _as(api: RunningApi, no: str, token: str) -> dict[str, Any]:
    return await api.gql(READ, {"no": no}, token=token)


async def test_nomis_down_case_information_only(
    api: RunningApi, isolated: RunningApi, sandbox: Sandbox
) -> None:
    """Tier, CRN and COM name of an unallocated prisoner stay hidden during an outage."""
    no = await fresh_prisoner(api, "LEI")
    await set_tier(api, no, "A", crn="X123456", comName="Jane Probation")
    nobody = await isolated.token("ACCESS_OUTAGE_NOBODY", ("ROLE_PRISON",), ("BXI",))
    elsewhere = await isolated.token("ACCESS_OUTAGE_SPO_MDI", ("ROLE_ALLOC_MGR",), ("MDI",))
    service = await isolated.token(None, ("ROLE_VIEW_POM_ALLOCATIONS",))
    sandbox.set_fault("prisoner-search", Fault(status=503))
    try:
        for token in (nobody, elsewhere):
            body = await _as(isolated, no, token)
            assert body["data"] == {"prisoner": None}, body
            assert_forbidden_at(body, ["prisoner"])
        body = await _as(isolated, no, service)
    finally:
        sandbox.clear_faults("prisoner-search")
    # The reading service gets the partial answer: owned data, NOMIS fields in error.
    assert body["data"]["prisoner"]["caseInformation"]["tier"] == "A", body
    assert {e["extensions"]["code"] for e in body["errors"]} <= {
        "UPSTREAM_UNAVAILABLE",
        "UPSTREAM_REJECTED",
    }


async def test_nomis_down_allocated_prisoner_decided_on_the_allocation(
    api: RunningApi, isolated: RunningApi, sandbox: Sandbox
) -> None:
    no, pom = await ready_prisoner_and_pom(api, "LEI")
    assert (await allocate(api, no, pom["staffId"]))["__typename"] == "Allocation"
    here = await isolated.token("ACCESS_OUTAGE_SPO_LEI", ("ROLE_ALLOC_MGR",), ("LEI",))
    elsewhere = await isolated.token("ACCESS_OUTAGE_SPO_MDI", ("ROLE_ALLOC_MGR",), ("MDI",))
    sandbox.set_fault("prisoner-search", Fault(status=503))
    try:
        mine = await _as(isolated, no, here)
        theirs = await _as(isolated, no, elsewhere)
    finally:
        sandbox.clear_faults("prisoner-search")
    assert mine["data"]["prisoner"]["allocation"]["primaryPomStaffId"] == pom["staffId"], mine
    assert mine["data"]["prisoner"]["firstName"] is None
    assert theirs["data"] == {"prisoner": None}
    assert_forbidden_at(theirs, ["prisoner"])


async def test_nomis_record_without_a_prison(api: RunningApi, sandbox: Sandbox) -> None:
    """A prisoner NOMIS knows but places in no prison is shown to the reading services only."""
    template = sandbox.data.prisoner(await fresh_prisoner(api, "LEI"))
    assert template is not None
    number = next(
        n for n in (f"Z{i:04d}ZZ" for i in range(9999, 0, -1)) if sandbox.data.prisoner(n) is None
    )
    sandbox.data.set_prisoner({**template, "prisonerNumber": number, "prisonId": None})
    try:
        for username, roles in (
            ("ACCESS_NOPRISON_NOBODY", ("ROLE_PRISON",)),
            ("ACCESS_NOPRISON_SPO", ("ROLE_ALLOC_MGR",)),
        ):
            token = await api.token(username, roles, ("LEI", "MDI", "BXI"))
            body = await _as(api, number, token)
            assert body["data"] == {"prisoner": None}, body
            assert_forbidden_at(body, ["prisoner"])
        service = await api.token(None, ("ROLE_VIEW_POM_ALLOCATIONS",))
        body = await _as(api, number, service)
        assert "errors" not in body, body
        assert body["data"]["prisoner"]["offenderNo"] == number
        # A number nobody knows gets the same refusal: nothing tells the two apart.
        body = await _as(api, "Z0000ZZ" if number != "Z0000ZZ" else "Y0000YY", token)
        assert body["data"] == {"prisoner": None}, body
        assert_forbidden_at(body, ["prisoner"])
        # The reading services, who may see every prisoner, get a plain null.
        body = await _as(api, "Z0000ZZ" if number != "Z0000ZZ" else "Y0000YY", service)
        assert body == {**body, "data": {"prisoner": None}}
        assert "errors" not in body, body
    finally:
        sandbox.data.remove_prisoner(number)
