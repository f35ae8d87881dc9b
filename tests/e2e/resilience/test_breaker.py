"""The circuit breaker through the whole service: repeated failures open it, requests
then fail fast without reaching the upstream, /health says so, and after the fault
clears and the reset timeout passes, requests succeed again, with no restart.

`breaker_api` (conftest.py): no retries, threshold 3, reset timeout 0.5 s.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from allocation_api.sandbox import Fault, Sandbox
from tests.conftest import RunningApi
from tests.e2e.api.helpers import allocate, ready_prisoner_and_pom
from tests.e2e.resilience.support import ALLOCATE, assert_clean_body, table_counts

QUERY = """query($no: String!) { prisoner(offenderNo: $no) {
  offenderNo firstName lastName allocation { version primaryPomStaffId } } }"""
BATCH_READ = "POST /prisoner-search/prisoner-numbers"
ROLES_READ = "GET /api/staff/roles/{agencyId}/role/{roleCode}"
THRESHOLD = 3
FAST_FAIL_S = 0.25


async def _health(api: RunningApi) -> tuple[int, dict[str, Any]]:
    """/health as an operator sees it: with a token, so with its components."""
    headers = {"Authorization": f"Bearer {await api.token()}"}
    async with api.http.get(f"{api.url}/health", headers=headers) as response:
        return response.status, await response.json()


def _data_requests(box: Sandbox, upstream: str, key: str) -> int:
    return box.request_counts(upstream).get(key, 0)


async def _wait_until_half_open(api: RunningApi, upstream: str) -> None:
    deadline = time.monotonic() + 5 * api.settings.breaker_reset_timeout_s
    while time.monotonic() < deadline:
        _, health = await _health(api)
        if health["components"][upstream]["details"]["circuitBreaker"] == "half-open":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{upstream}'s breaker never half-opened")


async def _open_then_recover(
    api: RunningApi, box: Sandbox, fault: Fault, *, ping_fails: bool
) -> None:
    no, pom = await ready_prisoner_and_pom(api)
    assert (await allocate(api, no, pom["staffId"]))["__typename"] == "Allocation"
    healthy = await api.gql(QUERY, {"no": no})
    assert "errors" not in healthy, healthy
    status, health = await _health(api)
    assert (status, health["components"]["prisoner-search"]["details"]["circuitBreaker"]) == (
        200,
        "closed",
    )

    box.set_fault("prisoner-search", fault)
    box.reset_counts()
    codes = []
    for _ in range(THRESHOLD):
        body = await api.gql(QUERY, {"no": no})
        assert_clean_body(body)
        codes.append(body["errors"][0]["extensions"]["code"])
    assert codes == ["UPSTREAM_REJECTED"] * THRESHOLD
    assert _data_requests(box, "prisoner-search", BATCH_READ) == THRESHOLD

    # Open: requests fail fast, owned data still served, nothing sent upstream.
    for _ in range(5):
        started = time.perf_counter()
        body = await api.gql(QUERY, {"no": no})
        assert time.perf_counter() - started < FAST_FAIL_S
        assert_clean_body(body)
        assert body["data"]["prisoner"]["allocation"] == {
            "version": 1,
            "primaryPomStaffId": pom["staffId"],
        }
        assert body["data"]["prisoner"]["firstName"] is None
        assert {e["extensions"]["code"] for e in body["errors"]} == {"UPSTREAM_UNAVAILABLE"}
        assert {e["extensions"]["upstream"] for e in body["errors"]} == {"prisoner-search"}
    assert _data_requests(box, "prisoner-search", BATCH_READ) == THRESHOLD, "not fast-failing"

    status, health = await _health(api)
    assert status == 503
    assert health["status"] == "DOWN"
    assert health["components"]["prisoner-search"] == {
        "status": "DOWN",
        "details": {"circuitBreaker": "open"},
    }, health
    others = {k: v["status"] for k, v in health["components"].items() if k != "prisoner-search"}
    assert set(others.values()) == {"UP"}, health
    assert ("GET /health/ping" in box.request_counts("prisoner-search")) is True
    if not ping_fails:
        ping = await box_ping(api, box)
        assert ping == 200, "the fault was meant for the data path only"

    # Fault cleared, reset timeout passed: one probe, then closed and healthy again.
    box.clear_faults()
    await _wait_until_half_open(api, "prisoner-search")
    body = await api.gql(QUERY, {"no": no})
    assert body == {**healthy, "extensions": body.get("extensions")}
    assert _data_requests(box, "prisoner-search", BATCH_READ) == THRESHOLD + 1
    status, health = await _health(api)
    assert status == 200, health
    assert health["components"]["prisoner-search"] == {
        "status": "UP",
        "details": {"circuitBreaker": "closed"},
    }


async def box_ping(api: RunningApi, box: Sandbox) -> int:
    async with api.http.get(f"{box.urls['prisoner-search']}/health/ping") as response:
        return response.status


async def test_a_dead_upstream_opens_the_breaker_and_recovers(
    breaker_api: RunningApi, box: Sandbox
) -> None:
    # Everything fails, the upstream's own ping included.
    await _open_then_recover(breaker_api, box, Fault(status=503, path="/"), ping_fails=True)


async def test_an_open_breaker_is_down_in_health_even_while_the_ping_answers(
    breaker_api: RunningApi, box: Sandbox
) -> None:
    # Only the data path fails (the sandbox spares /health): the upstream says it is
    # up, but every request to it fails fast; /health must not call that UP.
    await _open_then_recover(breaker_api, box, Fault(status=503), ping_fails=False)


async def test_an_open_breaker_refuses_allocations_typed_without_calling_nomis(
    breaker_api: RunningApi, box: Sandbox
) -> None:
    no, pom = await ready_prisoner_and_pom(breaker_api)
    db = breaker_api.settings.database_url or ""
    box.set_fault("prison-api", Fault(status=500, path="/api/staff/roles"))
    for _ in range(THRESHOLD):
        body = await breaker_api.gql(
            ALLOCATE, {"input": {"offenderNo": no, "staffId": pom["staffId"]}}
        )
        assert body["data"]["allocatePrimaryPom"]["code"] == "UPSTREAM_REJECTED", body
    before = await table_counts(db)
    box.reset_counts()

    started = time.perf_counter()
    body = await breaker_api.gql(ALLOCATE, {"input": {"offenderNo": no, "staffId": pom["staffId"]}})
    assert time.perf_counter() - started < FAST_FAIL_S
    payload = body["data"]["allocatePrimaryPom"]
    assert payload["__typename"] == "ServiceUnavailableError", payload
    assert (payload["code"], payload["upstream"]) == ("UPSTREAM_UNAVAILABLE", "prison-api")
    assert _data_requests(box, "prison-api", ROLES_READ) == 0
    assert await table_counts(db) == before

    box.clear_faults()
    await _wait_until_half_open(breaker_api, "prison-api")
    body = await breaker_api.gql(ALLOCATE, {"input": {"offenderNo": no, "staffId": pom["staffId"]}})
    assert body["data"]["allocatePrimaryPom"]["__typename"] == "Allocation", body
