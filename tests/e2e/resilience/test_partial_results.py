"""Partial results: a failing upstream nulls exactly the fields it feeds, each with an
error at its path naming the upstream; owned data still arrives; mutations that need
the upstream refuse with a typed payload and write nothing; deallocation (owned data
only) keeps working.

Every fault mode of the sandbox is exercised against the real HTTP endpoint of an
API instance with short timeouts (`fault_api`, see conftest.py).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from allocation_api.sandbox import Fault, Sandbox
from tests.conftest import RunningApi
from tests.e2e.api.helpers import allocate, ready_prisoner_and_pom
from tests.e2e.resilience.support import (
    ALLOCATE,
    DEALLOCATE,
    assert_clean_body,
    store_audit,
    table_counts,
)

# (fault mode, the code clients must see). A 503 is an answer the upstream gave
# (rejected), a hang is a timeout, an unreadable or cut-short body is rejected.
MODES = [
    pytest.param("error", "UPSTREAM_REJECTED", id="error-503"),
    pytest.param("hang", "UPSTREAM_TIMEOUT", id="hang"),
    pytest.param("malformed", "UPSTREAM_REJECTED", id="malformed"),
    pytest.param("truncate", "UPSTREAM_REJECTED", id="truncate"),
]

# Fields of Prisoner read from prisoner search, and the owned fields around them.
PRISONER_QUERY = """query($no: String!) { prisoner(offenderNo: $no) {
  offenderNo firstName lastName dateOfBirth prisonId legalStatus cellLocation category
  sentence { releaseDate conditionalReleaseDate }
  omicEligible handover { reason handoverDate } responsibility recommendedPomType
  caseInformation { tier version }
  allocation { offenderNo version primaryPomStaffId primaryPomName
    history { event trigger allocationVersion primaryPomStaffId }
    primaryPom { staffId firstName lastName email position pomType status workingPattern }
    prisoner { offenderNo firstName lastName } }
} }"""

PRISONER_SEARCH_FIELDS = [
    "firstName",
    "lastName",
    "dateOfBirth",
    "prisonId",
    "legalStatus",
    "cellLocation",
    "category",
    "sentence",
    "omicEligible",
    "handover",
    "responsibility",
    "recommendedPomType",
]
POM_NAME_FIELDS = ["firstName", "lastName", "position", "pomType"]
"""The POM's fields read from prison-api (the email is NOMIS user roles')."""

# A hang costs one total timeout per attempt (0.5 s, one retry); allow for a slow machine.
HANG_BOUND_S = 3.0


async def _allocated_prisoner(api: RunningApi) -> tuple[str, dict[str, Any]]:
    no, pom = await ready_prisoner_and_pom(api)
    result = await allocate(api, no, pom["staffId"])
    assert result["__typename"] == "Allocation", result
    return no, pom


def _errors_by_path(body: dict[str, Any]) -> dict[tuple[Any, ...], dict[str, Any]]:
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    for error in body.get("errors", []):
        path = tuple(error["path"])
        assert path not in found, f"two errors at {path}"
        found[path] = error
    return found


def _assert_upstream_errors(
    body: dict[str, Any], expected_paths: set[tuple[Any, ...]], code: str, upstream: str
) -> None:
    errors = _errors_by_path(body)
    assert set(errors) == expected_paths, (
        f"errors at {sorted(errors)}, expected exactly {sorted(expected_paths)}"
    )
    for path, error in errors.items():
        assert error["extensions"]["code"] == code, (path, error)
        assert error["extensions"]["upstream"] == upstream, (path, error)
        value: Any = body["data"]
        for step in path:
            value = value[step]
        assert value is None, f"{path} has an error but a value {value!r}"


@pytest.mark.parametrize(("mode", "code"), MODES)
async def test_prisoner_search_failing_nulls_only_its_fields(
    fault_api: RunningApi, box: Sandbox, mode: str, code: str
) -> None:
    no, pom = await _allocated_prisoner(fault_api)
    healthy = await fault_api.gql(PRISONER_QUERY, {"no": no})
    assert "errors" not in healthy, healthy

    box.set_fault("prisoner-search", Fault(status=503, mode=mode))  # type: ignore[arg-type]
    started = time.perf_counter()
    body = await fault_api.gql(PRISONER_QUERY, {"no": no})  # asserts HTTP 200
    elapsed = time.perf_counter() - started

    assert_clean_body(body)
    assert elapsed < HANG_BOUND_S, f"{mode}: answered after {elapsed:.2f}s"
    prisoner = body["data"]["prisoner"]
    expected = {("prisoner", f) for f in PRISONER_SEARCH_FIELDS}
    expected |= {("prisoner", "allocation", "prisoner", f) for f in ("firstName", "lastName")}
    _assert_upstream_errors(body, expected, code, "prisoner-search")

    # Owned data arrives whole, and equals what the healthy read said.
    was = healthy["data"]["prisoner"]
    assert prisoner["offenderNo"] == no
    assert prisoner["caseInformation"] == was["caseInformation"] == {"tier": "C", "version": 1}
    allocation = prisoner["allocation"]
    assert allocation["version"] == 1
    assert allocation["primaryPomStaffId"] == pom["staffId"]
    assert allocation["primaryPomName"] == was["allocation"]["primaryPomName"]
    assert allocation["history"] == was["allocation"]["history"]
    assert [e["event"] for e in allocation["history"]] == ["ALLOCATE_PRIMARY_POM"]
    # prison-api is healthy: the POM is complete.
    assert allocation["primaryPom"] == was["allocation"]["primaryPom"]
    assert allocation["prisoner"]["offenderNo"] == no

    box.clear_faults()
    again = await fault_api.gql(PRISONER_QUERY, {"no": no})
    assert again == {**healthy, "extensions": again.get("extensions")}, "no lasting damage"


@pytest.mark.parametrize(("mode", "code"), MODES)
async def test_prison_api_failing_nulls_only_the_pom_names(
    fault_api: RunningApi, box: Sandbox, mode: str, code: str
) -> None:
    no, pom = await _allocated_prisoner(fault_api)
    healthy = await fault_api.gql(PRISONER_QUERY, {"no": no})
    assert "errors" not in healthy, healthy

    box.set_fault("prison-api", Fault(status=503, mode=mode))  # type: ignore[arg-type]
    body = await fault_api.gql(PRISONER_QUERY, {"no": no})

    assert_clean_body(body)
    expected = {("prisoner", "allocation", "primaryPom", f) for f in POM_NAME_FIELDS}
    _assert_upstream_errors(body, expected, code, "prison-api")
    was = healthy["data"]["prisoner"]
    now = body["data"]["prisoner"]
    # Everything but the POM's NOMIS fields is as it was, prisoner search included.
    assert {k: v for k, v in now.items() if k != "allocation"} == {
        k: v for k, v in was.items() if k != "allocation"
    }
    pom_now = now["allocation"]["primaryPom"]
    assert pom_now["staffId"] == pom["staffId"]
    assert pom_now["status"] == was["allocation"]["primaryPom"]["status"] == "ACTIVE"
    assert pom_now["workingPattern"] == was["allocation"]["primaryPom"]["workingPattern"]
    assert pom_now["email"] == was["allocation"]["primaryPom"]["email"] is not None
    assert now["allocation"]["primaryPomName"] == was["allocation"]["primaryPomName"]
    assert now["allocation"]["history"] == was["allocation"]["history"]


@pytest.mark.parametrize(("mode", "code"), MODES)
async def test_user_roles_failing_nulls_only_the_pom_email(
    fault_api: RunningApi, box: Sandbox, mode: str, code: str
) -> None:
    no, pom = await _allocated_prisoner(fault_api)
    # An earlier test of this module may have cached the account; forget it.
    fault_api.app.state.services.caches.user_by_staff_id.invalidate(pom["staffId"])
    # Only the staff account read fails: the caller's own caseloads still answer.
    box.set_fault("nomis-user-roles", Fault(status=503, mode=mode, path="/users/staff/"))  # type: ignore[arg-type]
    body = await fault_api.gql(PRISONER_QUERY, {"no": no})

    assert_clean_body(body)
    _assert_upstream_errors(
        body, {("prisoner", "allocation", "primaryPom", "email")}, code, "nomis-user-roles"
    )
    pom_now = body["data"]["prisoner"]["allocation"]["primaryPom"]
    assert pom_now["staffId"] == pom["staffId"]
    assert pom_now["lastName"] is not None

    box.clear_faults()  # a failure is not cached: the next read has the email
    again = await fault_api.gql(PRISONER_QUERY, {"no": no})
    assert "errors" not in again, again
    user = box.data.user_for_staff(pom["staffId"])
    assert user is not None
    assert again["data"]["prisoner"]["allocation"]["primaryPom"]["email"] == user.email


@pytest.mark.parametrize(
    ("upstream", "mode", "code"),
    [
        pytest.param("prison-api", "error", "UPSTREAM_REJECTED", id="prison-api-503"),
        pytest.param("prison-api", "hang", "UPSTREAM_TIMEOUT", id="prison-api-hang"),
        pytest.param("prison-api", "malformed", "UPSTREAM_REJECTED", id="prison-api-malformed"),
        pytest.param("prison-api", "truncate", "UPSTREAM_REJECTED", id="prison-api-truncate"),
        pytest.param("prisoner-search", "error", "UPSTREAM_REJECTED", id="prisoner-search-503"),
        pytest.param("prisoner-search", "hang", "UPSTREAM_TIMEOUT", id="prisoner-search-hang"),
    ],
)
async def test_allocating_needs_nomis_and_refuses_typed_writing_nothing(
    fault_api: RunningApi, box: Sandbox, upstream: str, mode: str, code: str
) -> None:
    no, pom = await ready_prisoner_and_pom(fault_api)
    db = fault_api.settings.database_url or ""
    before = await table_counts(db)

    box.set_fault(upstream, Fault(status=503, mode=mode))  # type: ignore[arg-type]
    body = await fault_api.gql(ALLOCATE, {"input": {"offenderNo": no, "staffId": pom["staffId"]}})

    assert_clean_body(body)
    assert "errors" not in body, body
    payload = body["data"]["allocatePrimaryPom"]
    assert payload["__typename"] == "ServiceUnavailableError", payload
    assert payload["code"] == code
    assert payload["upstream"] == upstream
    assert await table_counts(db) == before, "a refused allocation wrote something"
    audit = await store_audit(db, [no])
    assert audit.prisoners[no].row is None
    assert audit.events == 0

    box.clear_faults()
    retried = await fault_api.gql(
        ALLOCATE, {"input": {"offenderNo": no, "staffId": pom["staffId"]}}
    )
    assert retried["data"]["allocatePrimaryPom"]["__typename"] == "Allocation", retried
    assert retried["data"]["allocatePrimaryPom"]["version"] == 1


@pytest.mark.parametrize("mode", ["error", "hang"])
async def test_deallocation_works_while_nomis_is_down(
    fault_api: RunningApi, box: Sandbox, mode: str
) -> None:
    no, pom = await _allocated_prisoner(fault_api)
    db = fault_api.settings.database_url or ""

    for upstream in ("prisoner-search", "prison-api"):
        box.set_fault(upstream, Fault(status=503, mode=mode))  # type: ignore[arg-type]
    body = await fault_api.gql(DEALLOCATE, {"input": {"offenderNo": no, "expectedVersion": 1}})

    assert_clean_body(body)
    assert "errors" not in body, body
    payload = body["data"]["deallocatePrimaryPom"]
    assert payload["__typename"] == "Allocation", payload
    assert payload["version"] == 2
    assert payload["primaryPomStaffId"] is None
    assert [(e["event"], e["allocationVersion"]) for e in payload["history"]] == [
        ("ALLOCATE_PRIMARY_POM", 1),
        ("DEALLOCATE_PRIMARY_POM", 2),
    ]
    audit = await store_audit(db, [no])
    assert audit.mismatches == []
    assert audit.events == 2
    assert audit.prisoners[no].row is not None
    assert audit.prisoners[no].row["primary_pom_staff_id"] is None
    assert pom["staffId"] == audit.prisoners[no].events[0]["primary_pom_staff_id"]


async def test_updating_case_information_needs_prisoner_search_and_writes_nothing(
    fault_api: RunningApi, box: Sandbox
) -> None:
    no, _pom = await ready_prisoner_and_pom(fault_api)  # tier C, version 1
    db = fault_api.settings.database_url or ""
    before = await table_counts(db)

    box.set_fault("prisoner-search", Fault(status=503))
    body = await fault_api.gql(
        """mutation($input: CaseInformationInput!) { updateCaseInformation(input: $input) {
             __typename ... on CaseInformation { tier version }
             ... on Error { code } ... on ServiceUnavailableError { upstream } } }""",
        {"input": {"offenderNo": no, "tier": "A", "probationService": "WALES"}},
    )

    assert_clean_body(body)
    payload = body["data"]["updateCaseInformation"]
    assert payload == {
        "__typename": "ServiceUnavailableError",
        "code": "UPSTREAM_REJECTED",
        "upstream": "prisoner-search",
    }
    assert await table_counts(db) == before


PAGE_WITH_POMS = """{ prison(code: "LEI") { prisoners(first: 100) { nodes {
  offenderNo caseInformation { tier }
  allocation { primaryPomStaffId primaryPom { staffId firstName lastName status } } } } } }"""


async def test_prison_page_with_pom_lookups_failing_nulls_only_pom_names(
    fault_api: RunningApi, box: Sandbox
) -> None:
    """The page preloads its allocations' POMs: a failing POM list must still yield
    the owned data with an error at each POM name's path, as the lazy path does."""
    no, pom = await _allocated_prisoner(fault_api)
    box.set_fault("prison-api", Fault(status=503, mode="error", path="/api/staff"))
    try:
        body = await fault_api.gql(PAGE_WITH_POMS)
    finally:
        box.clear_faults()
    assert_clean_body(body)
    nodes = body["data"]["prison"]["prisoners"]["nodes"]
    index = next(i for i, n in enumerate(nodes) if n["offenderNo"] == no)
    node = nodes[index]
    assert node["caseInformation"]["tier"]
    assert node["allocation"]["primaryPomStaffId"] == pom["staffId"]
    found = node["allocation"]["primaryPom"]
    assert (found["staffId"], found["firstName"], found["lastName"], found["status"]) == (
        pom["staffId"],
        None,
        None,
        "ACTIVE",
    )
    errors = _errors_by_path(body)
    base = ("prison", "prisoners", "nodes", index, "allocation", "primaryPom")
    for field in ("firstName", "lastName"):
        error = errors[(*base, field)]
        assert error["extensions"]["code"] == "UPSTREAM_REJECTED"
        assert error["extensions"]["upstream"] == "prison-api"


CASELOAD = """query($staffId: Int!) { pom(staffId: $staffId, prisonCode: "LEI") {
  caseload(first: 100) { totalCount nodes { offenderNo version
    prisoner { offenderNo firstName lastName sentence { releaseDate } }
    primaryPom { staffId firstName lastName } } } } }"""


async def test_caseload_with_prisoner_search_failing_nulls_only_the_prisoner_fields(
    fault_api: RunningApi, box: Sandbox
) -> None:
    """The caseload preloads its nodes' prisoners: a failing prisoner search must
    still yield every case with an error at each NOMIS field's path, as the lazy
    path does, and the POM (another upstream) intact."""
    no, pom = await _allocated_prisoner(fault_api)
    await fault_api.gql(CASELOAD, {"staffId": pom["staffId"]})  # warm the POM list
    box.set_fault("prisoner-search", Fault(status=503, mode="error"))
    try:
        body = await fault_api.gql(CASELOAD, {"staffId": pom["staffId"]})
    finally:
        box.clear_faults()
    assert_clean_body(body)
    caseload = body["data"]["pom"]["caseload"]
    nodes = caseload["nodes"]
    assert len(nodes) == caseload["totalCount"] >= 1
    index = next(i for i, n in enumerate(nodes) if n["offenderNo"] == no)
    node = nodes[index]
    assert node["version"] >= 1
    assert node["prisoner"]["offenderNo"] == no
    assert node["prisoner"]["firstName"] is None
    assert node["prisoner"]["sentence"] is None
    assert node["primaryPom"]["staffId"] == pom["staffId"]
    assert node["primaryPom"]["lastName"] == pom["lastName"]
    errors = _errors_by_path(body)
    base = ("pom", "caseload", "nodes", index, "prisoner")
    for field in ("firstName", "lastName", "sentence"):
        error = errors[(*base, field)]
        assert error["extensions"]["code"] == "UPSTREAM_REJECTED"
        assert error["extensions"]["upstream"] == "prisoner-search"
    assert all(path[:3] == ("pom", "caseload", "nodes") for path in errors), errors
