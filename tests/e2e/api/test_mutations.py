"""Mutations end to end over HTTP: every rule and every error member."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from allocation_api.store.urls import asyncpg_url
from tests.conftest import RunningApi
from tests.e2e.api.helpers import (
    ALLOCATE_SECONDARY,
    DEALLOCATE_PRIMARY,
    DEALLOCATE_SECONDARY,
    active_poms,
    allocate,
    fresh_prisoner,
    ready_prisoner_and_pom,
    recommended,
    set_tier,
)


async def db_counts(database_url: str, offender_no: str) -> tuple[int, int]:
    """(allocation rows, history events) for one prisoner, read straight from Postgres."""
    engine = create_async_engine(asyncpg_url(database_url))
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT count(*) FROM allocation WHERE offender_no = :no"),
                    {"no": offender_no},
                )
            ).scalar_one()
            events = (
                await conn.execute(
                    text("SELECT count(*) FROM allocation_event WHERE offender_no = :no"),
                    {"no": offender_no},
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    return int(rows), int(events)


async def test_allocate_then_reallocate_records_events(api: RunningApi) -> None:
    no, pom = await ready_prisoner_and_pom(api)
    first = await allocate(api, no, pom["staffId"])
    assert first["__typename"] == "Allocation", first
    assert first["primaryPomStaffId"] == pom["staffId"]
    assert first["primaryPomName"] == f"{pom['firstName']} {pom['lastName']}"
    assert first["version"] == 1
    assert first["createdBy"] == "SPO_MULTI"
    assert [(e["event"], e["trigger"], e["allocationVersion"]) for e in first["history"]] == [
        ("ALLOCATE_PRIMARY_POM", "USER", 1)
    ]
    others = [
        p for p in await active_poms(api, "LEI", pom["pomType"]) if p["staffId"] != pom["staffId"]
    ]
    second = await allocate(api, no, others[0]["staffId"], expectedVersion=1)
    assert second["__typename"] == "Allocation", second
    assert second["version"] == 2
    assert [e["event"] for e in second["history"]] == [
        "ALLOCATE_PRIMARY_POM",
        "REALLOCATE_PRIMARY_POM",
    ]


async def test_allocation_then_query_shows_it_with_history(api: RunningApi) -> None:
    no, pom = await ready_prisoner_and_pom(api)
    assert (await allocate(api, no, pom["staffId"]))["__typename"] == "Allocation"
    body = await api.gql(
        """query($no: String!) { prisoner(offenderNo: $no) { offenderNo firstName
             allocation { primaryPom { staffId firstName lastName } version
                          history { event primaryPomStaffId createdBy } } } }""",
        {"no": no},
    )
    allocation = body["data"]["prisoner"]["allocation"]
    assert allocation["primaryPom"]["staffId"] == pom["staffId"]
    assert allocation["primaryPom"]["lastName"] == pom["lastName"]
    assert allocation["history"] == [
        {
            "event": "ALLOCATE_PRIMARY_POM",
            "primaryPomStaffId": pom["staffId"],
            "createdBy": "SPO_MULTI",
        }
    ]


async def test_secondary_needs_primary_and_a_different_pom(api: RunningApi) -> None:
    no, pom = await ready_prisoner_and_pom(api)
    others = [p for p in await active_poms(api) if p["staffId"] != pom["staffId"]]
    no_primary = await api.gql(
        ALLOCATE_SECONDARY, {"input": {"offenderNo": no, "staffId": others[0]["staffId"]}}
    )
    assert no_primary["data"]["allocateSecondaryPom"]["code"] == "NO_PRIMARY_POM"
    assert await db_counts(api.settings.database_url or "", no) == (0, 0)

    await allocate(api, no, pom["staffId"])
    same = await api.gql(
        ALLOCATE_SECONDARY, {"input": {"offenderNo": no, "staffId": pom["staffId"]}}
    )
    assert same["data"]["allocateSecondaryPom"]["__typename"] == "NotAllowedError"
    assert same["data"]["allocateSecondaryPom"]["code"] == "SAME_AS_PRIMARY_POM"

    ok = await api.gql(
        ALLOCATE_SECONDARY, {"input": {"offenderNo": no, "staffId": others[0]["staffId"]}}
    )
    result = ok["data"]["allocateSecondaryPom"]
    assert result["__typename"] == "Allocation"
    assert result["secondaryPomStaffId"] == others[0]["staffId"]
    assert result["history"][-1]["event"] == "ALLOCATE_SECONDARY_POM"

    # Deallocating the primary keeps the co-worker; the case is unallocated again.
    gone = await api.gql(DEALLOCATE_PRIMARY, {"input": {"offenderNo": no}})
    result = gone["data"]["deallocatePrimaryPom"]
    assert result["primaryPomStaffId"] is None
    assert result["secondaryPomStaffId"] == others[0]["staffId"]
    assert result["history"][-1]["event"] == "DEALLOCATE_PRIMARY_POM"

    gone2 = await api.gql(DEALLOCATE_SECONDARY, {"input": {"offenderNo": no}})
    result = gone2["data"]["deallocateSecondaryPom"]
    assert result["secondaryPomStaffId"] is None
    assert [e["event"] for e in result["history"]] == [
        "ALLOCATE_PRIMARY_POM",
        "ALLOCATE_SECONDARY_POM",
        "DEALLOCATE_PRIMARY_POM",
        "DEALLOCATE_SECONDARY_POM",
    ]
    again = await api.gql(DEALLOCATE_SECONDARY, {"input": {"offenderNo": no}})
    assert again["data"]["deallocateSecondaryPom"]["code"] == "NO_SECONDARY_POM"


@pytest.mark.parametrize(
    ("input_", "typename", "code"),
    [
        ({"offenderNo": "not-a-number", "staffId": 1}, "ValidationError", "INVALID_OFFENDER_NO"),
        # Unknown: the one refusal a prisoner held elsewhere also gets (no existence oracle).
        ({"offenderNo": "Z9999ZZ", "staffId": 1}, "NotAllowedError", "FORBIDDEN_PRISON"),
        ({"offenderNo": "A1234BC", "staffId": -5}, "ValidationError", "INVALID_STAFF_ID"),
        (
            {"offenderNo": "A1234BC", "staffId": 1, "message": "x" * 2001},
            "ValidationError",
            "TOO_LONG",
        ),
        (
            {"offenderNo": "A1234BC", "staffId": 1, "overrideDetail": "x" * 176},
            "ValidationError",
            "TOO_LONG",
        ),
    ],
)
async def test_bad_input_is_typed_and_writes_nothing(
    api: RunningApi, input_: dict[str, Any], typename: str, code: str
) -> None:
    body = await api.gql(
        """mutation($input: AllocatePrimaryPomInput!) { allocatePrimaryPom(input: $input) {
             __typename ... on Error { code message } } }""",
        {"input": input_},
    )
    result = body["data"]["allocatePrimaryPom"]
    assert (result["__typename"], result["code"]) == (typename, code), result
    assert result["message"]


async def test_allocation_needs_a_tier(api: RunningApi) -> None:
    no = await fresh_prisoner(api)
    poms = await active_poms(api)
    result = await allocate(api, no, poms[0]["staffId"])
    assert (result["__typename"], result["code"]) == (
        "NotAllowedError",
        "CASE_INFORMATION_REQUIRED",
    )
    assert await db_counts(api.settings.database_url or "", no) == (0, 0)


async def test_unknown_staff_and_non_pom_staff(api: RunningApi) -> None:
    no, _pom = await ready_prisoner_and_pom(api)
    unknown = await allocate(api, no, 999_999_999)
    assert (unknown["__typename"], unknown["code"]) == ("NotFoundError", "POM_NOT_FOUND")
    non_pom = api.sandbox.data.non_pom_staff()[0]["staffId"]
    refused = await allocate(api, no, non_pom)
    assert (refused["__typename"], refused["code"]) == ("NotAllowedError", "NOT_A_POM_AT_PRISON")
    # A POM of another prison is not a POM here.
    mdi_only = [
        p["staffId"]
        for p in await active_poms(api, "MDI")
        if p["staffId"] not in {q["staffId"] for q in await active_poms(api, "LEI")}
    ]
    elsewhere = await allocate(api, no, mdi_only[0])
    assert elsewhere["code"] == "NOT_A_POM_AT_PRISON"
    assert await db_counts(api.settings.database_url or "", no) == (0, 0)


async def test_override_reasons_required_and_validated(api: RunningApi) -> None:
    no = await fresh_prisoner(api)
    await set_tier(api, no, "A")
    wanted = await recommended(api, no)
    other_type = "PRISON" if wanted == "PROBATION" else "PROBATION"
    against = (await active_poms(api, "LEI", other_type))[0]
    missing = await allocate(api, no, against["staffId"])
    assert (missing["__typename"], missing["code"]) == (
        "ValidationError",
        "OVERRIDE_REASON_REQUIRED",
    )
    need_detail = await allocate(api, no, against["staffId"], overrideReasons=["OTHER"])
    assert need_detail["code"] == "OVERRIDE_DETAIL_REQUIRED"
    assert need_detail["field"] == "overrideDetail"
    assert await db_counts(api.settings.database_url or "", no) == (0, 0)
    ok = await allocate(
        api,
        no,
        against["staffId"],
        overrideReasons=["OTHER", "NO_STAFF"],
        overrideDetail="Only one in",
    )
    assert ok["__typename"] == "Allocation", ok
    assert set(ok["overrideReasons"]) == {"OTHER", "NO_STAFF"}
    assert ok["recommendedPomType"] == wanted


async def test_stale_expected_version_conflicts(api: RunningApi) -> None:
    no, pom = await ready_prisoner_and_pom(api)
    assert (await allocate(api, no, pom["staffId"]))["version"] == 1
    stale = await api.gql(DEALLOCATE_PRIMARY, {"input": {"offenderNo": no, "expectedVersion": 0}})
    result = stale["data"]["deallocatePrimaryPom"]
    assert (result["__typename"], result["code"], result["currentVersion"]) == (
        "ConflictError",
        "STALE_VERSION",
        1,
    )
    assert await db_counts(api.settings.database_url or "", no) == (1, 1)


async def test_prison_outside_caseload_is_not_allowed(api: RunningApi) -> None:
    no, pom = await ready_prisoner_and_pom(api, "LEI")
    token = await api.token("SPO_MDI_ONLY", caseloads=("MDI",))
    body = await api.gql(
        """mutation($input: AllocatePrimaryPomInput!) { allocatePrimaryPom(input: $input) {
             __typename ... on Error { code } } }""",
        {"input": {"offenderNo": no, "staffId": pom["staffId"]}},
        token=token,
    )
    assert body["data"]["allocatePrimaryPom"] == {
        "__typename": "NotAllowedError",
        "code": "FORBIDDEN_PRISON",
    }
    assert await db_counts(api.settings.database_url or "", no) == (0, 0)


async def test_idempotency_key_replays_without_writing(api: RunningApi) -> None:
    no, pom = await ready_prisoner_and_pom(api)
    first = await allocate(api, no, pom["staffId"], idempotencyKey="retry-me-1")
    again = await allocate(api, no, pom["staffId"], idempotencyKey="retry-me-1")
    assert first["__typename"] == again["__typename"] == "Allocation"
    assert again["version"] == first["version"] == 1
    assert await db_counts(api.settings.database_url or "", no) == (1, 1)
    other = next(
        p for p in await active_poms(api, "LEI", pom["pomType"]) if p["staffId"] != pom["staffId"]
    )
    reused = await allocate(api, no, other["staffId"], idempotencyKey="retry-me-1")
    assert (reused["__typename"], reused["code"]) == ("ConflictError", "IDEMPOTENCY_KEY_REUSED")


async def test_failure_inside_the_transaction_leaves_nothing(
    api: RunningApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection in the store: the event insert fails after the row was written."""
    from allocation_api.store import repositories

    no, pom = await ready_prisoner_and_pom(api)

    async def broken_append(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("disk full (injected)")

    monkeypatch.setattr(repositories, "append_event", broken_append)
    body = await api.gql(
        """mutation($input: AllocatePrimaryPomInput!) { allocatePrimaryPom(input: $input) { __typename } }""",
        {"input": {"offenderNo": no, "staffId": pom["staffId"]}},
    )
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL"
    assert "Traceback" not in str(body)
    assert await db_counts(api.settings.database_url or "", no) == (0, 0)


async def test_case_information_validation(api: RunningApi) -> None:
    no = await fresh_prisoner(api)
    query = """mutation($input: CaseInformationInput!) { updateCaseInformation(input: $input) {
                 __typename ... on Error { code } ... on ValidationError { field } } }"""
    for bad, code, field in [
        ({"mappaLevel": 4}, "INVALID_MAPPA_LEVEL", "mappaLevel"),
        ({"crn": "123"}, "INVALID_CRN", "crn"),
        ({"comEmail": "nobody"}, "INVALID_EMAIL", "comEmail"),
        ({"comName": "x" * 201}, "TOO_LONG", "comName"),
    ]:
        body = await api.gql(query, {"input": {"offenderNo": no, "tier": "B", **bad}})
        assert body["data"]["updateCaseInformation"] == {
            "__typename": "ValidationError",
            "code": code,
            "field": field,
        }
    ok = await set_tier(api, no, "B", mappaLevel=2, crn="x123456", comEmail="com@example.org")
    assert ok == {"__typename": "CaseInformation", "tier": "B", "version": 1}
    stale = await api.gql(query, {"input": {"offenderNo": no, "tier": "A", "expectedVersion": 0}})
    assert stale["data"]["updateCaseInformation"]["code"] == "STALE_VERSION"


async def test_pom_details_bounds_and_inactive_releases_cases(api: RunningApi) -> None:
    query = """mutation($input: PomDetailsInput!) { updatePomDetails(input: $input) {
                 __typename ... on Pom { staffId status workingPattern }
                 ... on Error { code } ... on ValidationError { field } } }"""
    poms = await active_poms(api, "BXI")
    staff_id = poms[-1]["staffId"]
    for pattern in (0.05, 1.1, 0.333):
        body = await api.gql(
            query, {"input": {"staffId": staff_id, "prisonCode": "BXI", "workingPattern": pattern}}
        )
        assert body["data"]["updatePomDetails"]["code"] == "INVALID_WORKING_PATTERN", pattern
    for pattern in (0.1, 1.0, 0.5):
        body = await api.gql(
            query, {"input": {"staffId": staff_id, "prisonCode": "BXI", "workingPattern": pattern}}
        )
        assert body["data"]["updatePomDetails"]["workingPattern"] == pattern
    unknown = await api.gql(
        query, {"input": {"staffId": 424242, "prisonCode": "BXI", "workingPattern": 0.5}}
    )
    assert unknown["data"]["updatePomDetails"]["code"] == "POM_NOT_FOUND"
    bad_prison = await api.gql(
        query, {"input": {"staffId": staff_id, "prisonCode": "leeds", "status": "ACTIVE"}}
    )
    assert bad_prison["data"]["updatePomDetails"]["code"] == "INVALID_PRISON_CODE"

    # Give the POM a case, then make them inactive: the case is deallocated (INACTIVE_POM).
    no, _ = await ready_prisoner_and_pom(api, "BXI")
    wanted = await recommended(api, no)
    pom = next(p for p in await active_poms(api, "BXI", wanted))
    assert (await allocate(api, no, pom["staffId"]))["__typename"] == "Allocation"
    body = await api.gql(
        query, {"input": {"staffId": pom["staffId"], "prisonCode": "BXI", "status": "INACTIVE"}}
    )
    assert body["data"]["updatePomDetails"]["status"] == "INACTIVE"
    after = await api.gql(
        """query($no: String!) { prisoner(offenderNo: $no) { allocation {
             primaryPomStaffId history { event trigger } } } }""",
        {"no": no},
    )
    allocation = after["data"]["prisoner"]["allocation"]
    assert allocation["primaryPomStaffId"] is None
    assert allocation["history"][-1] == {
        "event": "DEALLOCATE_PRIMARY_POM",
        "trigger": "INACTIVE_POM",
    }
    # An inactive POM cannot be given new cases.
    no2, _ = await ready_prisoner_and_pom(api, "BXI")
    refused = await allocate(api, no2, pom["staffId"])
    # The POM check comes before the override check, so the type does not matter.
    assert (refused["__typename"], refused["code"]) == ("NotAllowedError", "POM_NOT_ACTIVE")
    await api.gql(
        query, {"input": {"staffId": pom["staffId"], "prisonCode": "BXI", "status": "ACTIVE"}}
    )
