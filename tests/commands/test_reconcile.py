"""Release, transfer and legal-status changes in NOMIS deallocate, as DOMAIN.md says."""

from __future__ import annotations

from allocation_api.commands.reconcile import SYSTEM_USER, reconcile
from allocation_api.commands.unit_of_work import UnitOfWork
from tests.conftest import RunningApi
from tests.e2e.api.helpers import ALLOCATE_SECONDARY, active_poms, allocate, ready_prisoner_and_pom

HISTORY = """query($no: String!) { prisoner(offenderNo: $no) { allocation {
  primaryPomStaffId secondaryPomStaffId version
  history { event trigger createdBy allocationVersion } } } }"""


async def _allocated_with_coworker(api: RunningApi) -> tuple[str, int, int]:
    no, pom = await ready_prisoner_and_pom(api)
    assert (await allocate(api, no, pom["staffId"]))["__typename"] == "Allocation"
    other = next(p for p in await active_poms(api) if p["staffId"] != pom["staffId"])
    body = await api.gql(
        ALLOCATE_SECONDARY, {"input": {"offenderNo": no, "staffId": other["staffId"]}}
    )
    assert body["data"]["allocateSecondaryPom"]["__typename"] == "Allocation"
    return no, pom["staffId"], other["staffId"]


async def test_release_transfer_and_legal_status(api: RunningApi) -> None:
    released, _, _ = await _allocated_with_coworker(api)
    moved, _, coworker = await _allocated_with_coworker(api)
    remanded, _, _ = await _allocated_with_coworker(api)
    untouched, primary, _ = await _allocated_with_coworker(api)
    data = api.sandbox.data
    data.update_prisoner(released, prisonId="OUT")
    data.update_prisoner(moved, prisonId="WWI")
    data.update_prisoner(remanded, legalStatus="REMAND")

    services = api.app.state.services
    report = await reconcile(UnitOfWork(services.sessions), services.upstreams)
    assert report.changes["DEALLOCATE_RELEASED_OFFENDER/OFFENDER_RELEASED"] == 1
    assert report.changes["DEALLOCATE_PRIMARY_POM/OFFENDER_TRANSFERRED"] >= 1
    assert report.changes["DEALLOCATE_PRIMARY_POM/LEGAL_STATUS_CHANGED"] >= 1

    # The SPO no longer sees prisoners who left their prisons; a reading service does.
    reader = await api.token(None, roles=("ROLE_VIEW_POM_ALLOCATIONS",))

    async def allocation(no: str) -> dict[str, object]:
        body = await api.gql(HISTORY, {"no": no}, token=reader)
        assert "errors" not in body, body
        return body["data"]["prisoner"]["allocation"]  # type: ignore[no-any-return]

    gone = await allocation(released)
    assert (gone["primaryPomStaffId"], gone["secondaryPomStaffId"]) == (None, None)
    assert gone["history"][-1] == {
        "event": "DEALLOCATE_RELEASED_OFFENDER",
        "trigger": "OFFENDER_RELEASED",
        "createdBy": SYSTEM_USER,
        "allocationVersion": gone["version"],
    }
    transferred = await allocation(moved)
    assert transferred["primaryPomStaffId"] is None
    assert transferred["secondaryPomStaffId"] == coworker  # only the primary goes
    assert transferred["history"][-1]["trigger"] == "OFFENDER_TRANSFERRED"
    out_of_scope = await allocation(remanded)
    assert (out_of_scope["primaryPomStaffId"], out_of_scope["secondaryPomStaffId"]) == (None, None)
    assert out_of_scope["history"][-1]["trigger"] == "LEGAL_STATUS_CHANGED"
    assert (await allocation(untouched))["primaryPomStaffId"] == primary

    again = await reconcile(UnitOfWork(services.sessions), services.upstreams)
    assert not {k: v for k, v in again.changes.items() if k != "NOT_IN_NOMIS"}
