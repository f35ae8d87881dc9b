"""Sandbox control: request counting, the read-only guard, fault injection, latency."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import orjson
import pytest

from allocation_api.sandbox import Fault, is_read, start_sandbox

from .conftest import FakeClient, service_token

AGENCY = "/api/agencies/LEI"


# -------------------------------------------------------------------- counting
async def test_requests_are_counted_by_route_template(private_fakes: FakeClient) -> None:
    numbers = private_fakes.sandbox.data.prisoner_numbers("LEI")[:3]
    for number in numbers:
        await private_fakes.get("prisoner-search", f"/prisoner/{number}")
    await private_fakes.post(
        "prisoner-search", "/prisoner-search/prisoner-numbers", json={"prisonerNumbers": numbers}
    )
    await private_fakes.get("prisoner-search", "/no/such/path")
    await private_fakes.get("prison-api", "/api/staff/roles/MDI/role/POM")
    expected = {
        "GET /prisoner/{prisonerNumber}": 3,
        "POST /prisoner-search/prisoner-numbers": 1,
        "GET /no/such/path": 1,
    }
    assert private_fakes.sandbox.request_counts("prisoner-search") == expected
    over_http = await private_fakes.get("prisoner-search", "/__sandbox/requests", token=None)
    assert over_http.json() == expected  # control paths are not counted themselves
    everything = private_fakes.sandbox.request_counts()
    assert everything["prison-api"] == {"GET /api/staff/roles/{prisonId}/role/POM": 1}
    assert everything["hmpps-auth"] == {"POST /auth/oauth/token": 1}  # the fixture's token
    assert private_fakes.sandbox.total_requests() == 7

    reset = await private_fakes.call("DELETE", "prisoner-search", "/__sandbox/requests", token=None)
    assert reset.status == 204
    assert private_fakes.sandbox.request_counts("prisoner-search") == {}
    private_fakes.sandbox.reset_counts()
    assert private_fakes.sandbox.total_requests() == 0


async def test_writes_are_refused_and_recorded_for_good(private_fakes: FakeClient) -> None:
    box = private_fakes.sandbox
    number = box.data.prisoner_numbers("LEI")[0]
    attempts = [
        ("PUT", "prisoner-search", f"/prisoner/{number}"),
        ("POST", "prison-api", "/api/agencies/LEI"),
        ("DELETE", "nomis-user-roles", "/users/SPO_LEI"),
        ("PATCH", "hmpps-auth", "/auth/oauth/token"),
        ("POST", "prison-api", "/api/made/up"),
    ]
    for method, upstream, path in attempts:
        reply = await private_fakes.call(method, upstream, path, json={"x": 1})
        assert reply.status == 405, (method, path)
    assert box.data.prisoner(number) is not None
    prison_api_error = (await private_fakes.call("POST", "prison-api", "/api/x")).json()
    assert prison_api_error["status"] == 405
    assert "errorCode" in prison_api_error
    counts = box.request_counts("prison-api")
    assert counts["POST /api/agencies/LEI"] == 1
    assert counts["POST /api/x"] == 1
    box.reset_counts()
    assert box.non_read_requests() == {
        f"prisoner-search PUT /prisoner/{number}": 1,
        "prison-api POST /api/agencies/LEI": 1,
        "nomis-user-roles DELETE /users/SPO_LEI": 1,
        "hmpps-auth PATCH /auth/oauth/token": 1,
        "prison-api POST /api/made/up": 1,
        "prison-api POST /api/x": 1,
    }


def test_the_read_allow_list() -> None:
    assert is_read("prisoner-search", "POST", "/prisoner-search/prisoner-numbers")
    assert is_read("prison-api", "POST", "/api/staff")
    assert is_read("prison-api", "POST", "/api/movements/offenders")
    assert is_read("hmpps-auth", "POST", "/auth/sandbox/token")
    assert is_read("nomis-user-roles", "HEAD", "/users/{username}")
    assert not is_read("prison-api", "POST", "/prisoner-search/prisoner-numbers")
    assert not is_read("prisoner-search", "PUT", "/prisoner/{prisonerNumber}")


# ---------------------------------------------------------------------- faults
async def test_error_fault_uses_each_services_error_body(private_fakes: FakeClient) -> None:
    put = await private_fakes.call(
        "PUT", "prison-api", "/__sandbox/faults", json={"status": 502, "mode": "error"}, token=None
    )
    assert put.status == 200
    assert put.json()["status"] == 502
    reply = await private_fakes.get("prison-api", AGENCY)
    assert reply.status == 502
    assert set(reply.json()) == {
        "status",
        "errorCode",
        "userMessage",
        "developerMessage",
        "moreInfo",
    }
    private_fakes.sandbox.set_fault("prisoner-search", Fault(status=500))
    search = await private_fakes.get("prisoner-search", "/prisoner/A1234BC")
    assert search.status == 500
    assert search.json()["status"] == 500
    private_fakes.sandbox.set_fault("hmpps-auth", Fault(status=503))
    auth = await private_fakes.post("hmpps-auth", "/auth/oauth/token", token=None)
    assert auth.status == 503
    assert auth.json()["error"] == "server_error"
    assert (await private_fakes.get("prison-api", "/health/ping", token=None)).status == 200
    cleared = await private_fakes.call("DELETE", "prison-api", "/__sandbox/faults", token=None)
    assert cleared.status == 204
    assert (await private_fakes.get("prison-api", AGENCY)).status == 200
    private_fakes.sandbox.clear_faults()
    assert (await private_fakes.get("prisoner-search", "/prisoner/Z9999ZZ")).status == 404


async def test_malformed_fault_sends_invalid_json(private_fakes: FakeClient) -> None:
    private_fakes.sandbox.set_fault("prison-api", Fault(mode="malformed"))
    reply = await private_fakes.get("prison-api", AGENCY)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json"
    with pytest.raises(orjson.JSONDecodeError):
        reply.json()


async def test_truncate_fault_cuts_the_body_short(private_fakes: FakeClient) -> None:
    private_fakes.sandbox.set_fault("nomis-user-roles", Fault(mode="truncate"))
    with pytest.raises(aiohttp.ClientPayloadError):
        await private_fakes.get("nomis-user-roles", "/users/SPO_LEI")


async def test_hang_fault_never_answers(private_fakes: FakeClient) -> None:
    private_fakes.sandbox.set_fault("prisoner-search", Fault(mode="hang"))
    with pytest.raises(TimeoutError):
        await private_fakes.get("prisoner-search", "/prisoner/A1234BC", time_limit_s=0.3)
    assert private_fakes.sandbox.request_counts("prisoner-search") == {
        "GET /prisoner/{prisonerNumber}": 1
    }


async def test_latency_fault_delays_then_answers(private_fakes: FakeClient) -> None:
    await private_fakes.call(
        "PUT", "prison-api", "/__sandbox/faults", json={"latencyMs": 250}, token=None
    )
    assert private_fakes.sandbox.servers["prison-api"].faults.fault == Fault.latency(250)
    started = time.monotonic()
    reply = await private_fakes.get("prison-api", AGENCY)
    assert reply.status == 200
    assert time.monotonic() - started >= 0.25
    with pytest.raises(TimeoutError):
        await private_fakes.get("prison-api", AGENCY, time_limit_s=0.1)


async def test_rate_faults_some_requests_reproducibly(private_fakes: FakeClient) -> None:
    private_fakes.sandbox.set_fault("prison-api", Fault(status=500, rate=0.5))
    statuses = [(await private_fakes.get("prison-api", AGENCY)).status for _ in range(40)]
    assert set(statuses) == {200, 500}
    assert 8 <= statuses.count(500) <= 32


async def test_path_prefix_limits_the_fault(private_fakes: FakeClient) -> None:
    private_fakes.sandbox.set_fault("prison-api", Fault(status=503, path="/api/staff"))
    assert (await private_fakes.get("prison-api", "/api/staff/roles/LEI/role/POM")).status == 503
    assert (await private_fakes.post("prison-api", "/api/staff", json=[1])).status == 503
    assert (await private_fakes.get("prison-api", AGENCY)).status == 200
    private_fakes.sandbox.set_fault("prison-api", Fault(status=503, path="/health"))
    assert (await private_fakes.get("prison-api", "/health/ping", token=None)).status == 503
    private_fakes.sandbox.set_fault("prison-api", Fault(status=503, path="/__sandbox/requests"))
    assert (await private_fakes.get("prison-api", "/__sandbox/requests", token=None)).status == 503
    private_fakes.sandbox.set_fault("prison-api", Fault(status=503, path="/__sandbox"))
    fault_switch = await private_fakes.get("prison-api", "/__sandbox/faults", token=None)
    assert fault_switch.status == 200
    assert fault_switch.json()["path"] == "/__sandbox"


@pytest.mark.parametrize(
    "body",
    [
        {"mode": "explode"},
        {"status": 42},
        {"status": "503"},
        {"rate": 2},
        {"rate": "often"},
        {"latencyMs": -1},
        {"path": 5},
        {"colour": "red"},
        [1],
    ],
)
async def test_bad_fault_requests_are_refused(private_fakes: FakeClient, body: object) -> None:
    reply = await private_fakes.call(
        "PUT", "prison-api", "/__sandbox/faults", json=body, token=None
    )
    assert reply.status == 400
    assert private_fakes.sandbox.servers["prison-api"].faults.fault is None


# ---------------------------------------------------------- tokens and latency
async def test_revoked_tokens_get_401(private_fakes: FakeClient) -> None:
    assert (await private_fakes.get("prison-api", AGENCY)).status == 200
    private_fakes.sandbox.revoke_tokens()
    assert (await private_fakes.get("prison-api", AGENCY)).status == 401
    fresh = await service_token(private_fakes.http, private_fakes.sandbox)
    assert (await private_fakes.get("prison-api", AGENCY, token=fresh)).status == 200


async def test_baseline_latency_and_prompt_shutdown_with_a_hanging_request(
    sandbox_http: aiohttp.ClientSession,
) -> None:
    box = await start_sandbox(prisoners_per_prison=10, poms_per_prison=3, latency_ms=60)
    try:
        client = FakeClient(sandbox_http, box, await service_token(sandbox_http, box))
        started = time.monotonic()
        assert (await client.get("prison-api", AGENCY)).status == 200
        assert time.monotonic() - started >= 0.06
        box.set_fault("prison-api", Fault(mode="hang"))
        hanging = asyncio.create_task(client.get("prison-api", AGENCY, time_limit_s=30))
        agency_key = "GET /api/agencies/{agencyId}"
        async with asyncio.timeout(5):  # wait until the server holds the request
            # polling: the server's counters are all there is to observe
            while box.request_counts("prison-api").get(agency_key) != 2:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    finally:
        async with asyncio.timeout(5):  # close must not wait for the hanging handler
            await box.close()
    with pytest.raises(aiohttp.ClientError):
        await hanging
