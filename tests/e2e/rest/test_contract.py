"""The REST contract other services call (docs/DOMAIN.md "What other services
already depend on"): bodies pinned byte for byte on the sandbox's seed-42 data,
every status code, the permission matrix, exact call counts, and that a write
through GraphQL shows through REST at once. Every answer is validated against
the served OpenAPI document (`contract.get`).

The pinned prisoners are the last ones of BXI's roster, which no other suite
touches (they take rosters from the front, `test_call_counts` positions 100..160).
"""

from __future__ import annotations

import pytest

from tests.conftest import RunningApi
from tests.e2e.api import helpers
from tests.e2e.api.helpers import (
    ALLOCATE,
    ALLOCATE_SECONDARY,
    DEALLOCATE_PRIMARY,
    active_poms,
    recommended,
    set_tier,
)
from tests.e2e.api.test_queries import expected_roster
from tests.e2e.rest.contract import ROLE, check_golden, client_token, get

DATA_UPSTREAMS = ("prisoner-search", "prison-api", "nomis-user-roles")
PRISON = "BXI"


def _tail(api: RunningApi, back: int) -> str:
    """A prisoner from the end of BXI's roster, kept from `fresh_prisoner`."""
    no = expected_roster(api, PRISON)[-back]
    helpers._used.add(no)
    return no


def _upstream_requests(api: RunningApi) -> int:
    return sum(api.sandbox.total_requests(u) for u in DATA_UPSTREAMS)


async def _allocated(api: RunningApi, back: int, *, co_worked: bool) -> tuple[str, int]:
    """Allocate a pinned prisoner through GraphQL (once: later calls find it done)."""
    no = _tail(api, back)
    found = await api.gql(
        "query($no: String!) { prisoner(offenderNo: $no) { allocation { primaryPomStaffId } } }",
        {"no": no},
    )
    allocation = found["data"]["prisoner"]["allocation"]
    if allocation is not None and allocation["primaryPomStaffId"] is not None:
        return no, int(allocation["primaryPomStaffId"])
    await set_tier(api, no, "C")
    poms = sorted(
        await active_poms(api, PRISON, await recommended(api, no)), key=lambda p: p["staffId"]
    )
    staff_id = int(poms[0]["staffId"])
    body = await api.gql(ALLOCATE, {"input": {"offenderNo": no, "staffId": staff_id}})
    assert body["data"]["allocatePrimaryPom"]["__typename"] == "Allocation", body
    if co_worked:
        others = sorted(
            (p for p in await active_poms(api, PRISON) if p["staffId"] != staff_id),
            key=lambda p: p["staffId"],
        )
        for other in others:
            body = await api.gql(
                ALLOCATE_SECONDARY, {"input": {"offenderNo": no, "staffId": other["staffId"]}}
            )
            if body["data"]["allocateSecondaryPom"]["__typename"] == "Allocation":
                break
        else:
            raise AssertionError(f"no POM could co-work {no}")
    return no, staff_id


async def test_golden_allocation_with_co_worker(api: RunningApi) -> None:
    no, _ = await _allocated(api, 1, co_worked=True)
    answer = await get(api, f"/api/allocation/{no}", token=await client_token(api))
    assert answer.status == 200
    assert set(answer.body) == {"primary_pom", "secondary_pom"}
    assert set(answer.body["secondary_pom"]) == {"staff_id", "name"}
    check_golden("allocation", answer)


async def test_golden_primary_pom(api: RunningApi) -> None:
    no, staff_id = await _allocated(api, 1, co_worked=True)
    answer = await get(api, f"/api/allocation/{no}/primary_pom", token=await client_token(api))
    assert answer.status == 200
    assert answer.body["manager"]["code"] == staff_id
    assert answer.body["prison"] == {"code": PRISON}
    assert answer.body["manager"]["email"], answer.body
    check_golden("primary_pom", answer)


async def test_golden_offender(api: RunningApi) -> None:
    no, _ = await _allocated(api, 1, co_worked=True)
    answer = await get(api, f"/api/offenders/{no}", token=await client_token(api))
    assert answer.status == 200
    assert answer.body["offender_no"] == answer.body["nomsNumber"] == no
    check_golden("offender", answer)


async def test_no_co_worker_is_an_empty_object(api: RunningApi) -> None:
    no, staff_id = await _allocated(api, 2, co_worked=False)
    answer = await get(api, f"/api/allocation/{no}", token=await client_token(api))
    assert answer.status == 200
    assert answer.body["secondary_pom"] == {}
    assert answer.body["primary_pom"]["staff_id"] == staff_id


async def test_the_two_404_messages(api: RunningApi) -> None:
    token = await client_token(api)
    never = _tail(api, 3)
    for path in (f"/api/allocation/{never}", f"/api/allocation/{never}/primary_pom"):
        answer = await get(api, path, token=token)
        assert (answer.status, answer.body) == (
            404,
            {"status": "error", "message": "Not ready for allocation"},
        )
    removed, _ = await _allocated(api, 4, co_worked=False)
    body = await api.gql(DEALLOCATE_PRIMARY, {"input": {"offenderNo": removed}})
    assert body["data"]["deallocatePrimaryPom"]["__typename"] == "Allocation", body
    for path in (f"/api/allocation/{removed}", f"/api/allocation/{removed}/primary_pom"):
        answer = await get(api, path, token=token)
        assert (answer.status, answer.body) == (
            404,
            {"status": "error", "message": "Not allocated"},
        )


async def test_unknown_prisoner_is_404(api: RunningApi) -> None:
    answer = await get(api, "/api/offenders/Z9999ZZ", token=await client_token(api))
    assert (answer.status, answer.body) == (404, {"status": "error", "message": "Not found"})


async def test_graphql_allocation_is_visible_at_once(api: RunningApi) -> None:
    token = await client_token(api)
    no = _tail(api, 5)
    before = await get(api, f"/api/allocation/{no}", token=token)
    assert before.body["message"] == "Not ready for allocation"
    _, staff_id = await _allocated(api, 5, co_worked=False)
    after = await get(api, f"/api/allocation/{no}", token=token)
    assert after.status == 200
    assert after.body["primary_pom"]["staff_id"] == staff_id
    pom = await get(api, f"/api/allocation/{no}/primary_pom", token=token)
    assert pom.body["manager"]["code"] == staff_id


@pytest.mark.parametrize(
    "path",
    ["/api/allocation/{n}", "/api/allocation/{n}/primary_pom", "/api/offenders/{n}"],
)
async def test_permission_matrix(api: RunningApi, path: str) -> None:
    no, _ = await _allocated(api, 1, co_worked=True)
    url = path.format(n=no)
    forged = (await client_token(api))[:-4] + "AAAA"
    cases = [
        (None, 401),
        ("not-a-jwt", 401),
        (forged, 401),
        (await api.token("REST_SPO", ("ROLE_ALLOC_MGR",), (PRISON,)), 403),
        (await api.token("REST_READER", (ROLE,), (PRISON,)), 403),  # a user token with the role
        (await client_token(api, "ROLE_ALLOC_MGR"), 403),
        (await client_token(api), 200),
    ]
    for token, status in cases:
        api.sandbox.reset_counts()
        answer = await get(api, url, token=token)
        assert answer.status == status, (token, answer.body)
        if status != 200:
            assert answer.body["status"] == "error"
            assert answer.body["message"]
            assert answer.calls == {"upstream": 0, "store": 0}
            assert _upstream_requests(api) == 0
        if status == 401:
            assert answer.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("bad", ["A1234B", "12345678", "A1234BCD", "x" * 200, "A1234B%20"])
async def test_malformed_number_is_400_and_reads_nothing(api: RunningApi, bad: str) -> None:
    token = await client_token(api)
    for path in (
        f"/api/allocation/{bad}",
        f"/api/allocation/{bad}/primary_pom",
        f"/api/offenders/{bad}",
    ):
        api.sandbox.reset_counts()
        answer = await get(api, path, token=token)
        assert answer.status == 400, answer.body
        assert answer.body["code"] == "INVALID_OFFENDER_NO"
        assert answer.body["field"] == "nomsNumber"
        assert "prisoner number" in answer.body["message"]
        assert len(answer.body["message"]) < 200
        assert answer.calls == {"upstream": 0, "store": 0}
        assert _upstream_requests(api) == 0


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
async def test_other_methods_are_405(api: RunningApi, method: str) -> None:
    token = await client_token(api)
    for path in (
        "/api/allocation/A1234BC",
        "/api/allocation/A1234BC/primary_pom",
        "/api/offenders/A1234BC",
    ):
        answer = await get(api, path, token=token, method=method)
        assert answer.status == 405
        assert answer.headers["allow"] == "GET"
        assert answer.calls == {"upstream": 0, "store": 0}


async def test_call_counts(api: RunningApi) -> None:
    """One statement per endpoint; NOMIS only where the answer needs it."""
    no, _ = await _allocated(api, 1, co_worked=True)
    token = await client_token(api)
    api.app.state.services.caches.user_by_staff_id.invalidate()
    expected = [
        (f"/api/allocation/{no}", {"upstream": 0, "store": 1}),
        (f"/api/allocation/{no}/primary_pom", {"upstream": 1, "store": 1}),
        (f"/api/allocation/{no}/primary_pom", {"upstream": 0, "store": 1}),  # staff cached
        (f"/api/offenders/{no}", {"upstream": 1, "store": 1}),
    ]
    for path, calls in expected:
        api.sandbox.reset_counts()
        answer = await get(api, path, token=token)
        assert answer.status == 200
        assert answer.calls == calls, path
        assert _upstream_requests(api) == calls["upstream"], api.sandbox.request_counts()


async def test_upstream_failure_is_a_typed_503(api: RunningApi) -> None:
    from allocation_api.sandbox.faults import Fault

    no, _ = await _allocated(api, 1, co_worked=True)
    token = await client_token(api)
    api.app.state.services.caches.user_by_staff_id.invalidate()
    api.sandbox.set_fault("nomis-user-roles", Fault(status=500))
    api.sandbox.set_fault("prisoner-search", Fault(status=500))
    try:
        for path, upstream in (
            (f"/api/allocation/{no}/primary_pom", "nomis-user-roles"),
            (f"/api/offenders/{no}", "prisoner-search"),
        ):
            answer = await get(api, path, token=token)
            assert answer.status == 503, answer.body
            assert answer.body["status"] == "error"
            assert answer.body["upstream"] == upstream
            assert answer.body["code"].startswith("UPSTREAM_")
        # Owned data only: the allocation endpoint still answers.
        assert (await get(api, f"/api/allocation/{no}", token=token)).status == 200
    finally:
        api.sandbox.clear_faults()
