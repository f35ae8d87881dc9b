"""Resilience of the upstream layer against misbehaving sandbox fakes over real HTTP.

Faults are injected through the sandbox (status, hang, malformed, truncate),
request counts are read from the sandbox, and every test clears its faults.
Timeouts and breaker reset times are tiny so the module stays fast.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from allocation_api import calls
from allocation_api.errors import (
    UpstreamError,
    UpstreamNotFound,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from allocation_api.sandbox import Fault, Sandbox, start_sandbox
from allocation_api.settings import Settings
from allocation_api.upstream import (
    CircuitOpen,
    ClientCredentialsTokenProvider,
    UpstreamHttp,
    Upstreams,
    UpstreamWriteRefused,
    retry_budget,
)

PRISONER = "GET /prisoner/{prisonerNumber}"
TOKEN = "POST /auth/oauth/token"


@pytest.fixture(scope="module")
async def box() -> AsyncIterator[Sandbox]:
    async with await start_sandbox(seed=5, prisoners_per_prison=40, poms_per_prison=6) as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def clean(box: Sandbox) -> Any:
    box.clear_faults()
    box.reset_counts()
    yield
    box.clear_faults()


def settings_for(box: Sandbox, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "prisoner_search_url": box.urls["prisoner-search"],
        "prison_api_url": box.urls["prison-api"],
        "nomis_user_roles_url": box.urls["nomis-user-roles"],
        "hmpps_auth_url": box.urls["hmpps-auth"],
        "client_id": box.client_id,
        "client_secret": box.client_secret,
        "upstream_connect_timeout_s": 0.5,
        "upstream_total_timeout_s": 0.5,
        "upstream_retries": 2,
        "upstream_retry_budget": 10,
        "breaker_failure_threshold": 5,
        "breaker_reset_timeout_s": 5.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, mode="dev", **values)


async def opened(box: Sandbox, **overrides: Any) -> Upstreams:
    return await Upstreams.open(settings_for(box, **overrides))


def closed_port_url() -> str:
    """A loopback URL on which nothing listens (the port was just released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def count(box: Sandbox, upstream: str, key: str) -> int:
    return box.request_counts(upstream).get(key, 0)


def a_prisoner(box: Sandbox) -> str:
    return box.data.prisoner_numbers("LEI")[0]


async def warm(ups: Upstreams, box: Sandbox) -> None:
    """Fetch the token first, so later counts show only the data requests."""
    await ups.tokens.token()
    box.reset_counts()


# --- tokens and 401 --------------------------------------------------------------


async def test_a_revoked_token_is_refreshed_once_and_the_call_succeeds(box: Sandbox) -> None:
    async with await opened(box) as ups:
        number = a_prisoner(box)
        assert await ups.prisoner_search.get_prisoner(number) is not None
        box.revoke_tokens()

        found = await ups.prisoner_search.get_prisoner(number)

        assert found is not None
        assert found.prisonerNumber == number
        assert count(box, "hmpps-auth", TOKEN) == 2
        assert count(box, "prisoner-search", PRISONER) == 3  # ok, 401, ok


async def test_concurrent_401s_cause_a_single_refresh(box: Sandbox) -> None:
    async with await opened(box) as ups:
        numbers = box.data.prisoner_numbers("MDI")[:10]
        assert await ups.prisoner_search.get_prisoner(numbers[0]) is not None
        box.reset_counts()
        box.revoke_tokens()  # revokes tokens the fakes have accepted so far
        found = await asyncio.gather(*(ups.prisoner_search.get_prisoner(n) for n in numbers))
        assert [p.prisonerNumber for p in found if p is not None] == numbers
        assert count(box, "hmpps-auth", TOKEN) == 1
        assert ups.tokens.fetches == 2
        assert count(box, "prisoner-search", PRISONER) == 20, "each refused once, resent once"


async def test_a_second_401_is_not_refreshed_again(box: Sandbox) -> None:
    async with await opened(box) as ups:
        await warm(ups, box)
        box.set_fault("prisoner-search", Fault(status=401, path="/prisoner/"))
        with pytest.raises(UpstreamRejected) as raised:
            await ups.prisoner_search.get_prisoner(a_prisoner(box))
        assert raised.value.status == 401
        assert raised.value.upstream == "prisoner-search"
        assert count(box, "hmpps-auth", TOKEN) == 1, "one refresh"
        assert count(box, "prisoner-search", PRISONER) == 2, "one resend, no retries"
        assert ups.breakers()["prisoner-search"] == "closed"


async def test_the_token_is_cached_until_a_minute_before_expiry(box: Sandbox) -> None:
    now = [0.0]
    async with await opened(box) as ups:
        tokens = ClientCredentialsTokenProvider(
            ups.http("hmpps-auth"),
            client_id=box.client_id,
            client_secret=SecretStr(box.client_secret),
            clock=lambda: now[0],
        )
        first = await tokens.token()
        lifetime = box.auth.token_ttl_s - 1  # what the fake reports as expires_in
        now[0] = lifetime - 60 - 0.5
        assert await tokens.token() == first
        assert tokens.fetches == 1
        now[0] = lifetime - 60
        second = await tokens.token()
        assert second != first
        assert tokens.fetches == 2
        assert count(box, "hmpps-auth", TOKEN) == 2


async def test_concurrent_callers_share_one_token_fetch(box: Sandbox) -> None:
    async with await opened(box) as ups:
        box.set_fault("hmpps-auth", Fault.latency(100, path="/auth/oauth/token"))
        tokens = await asyncio.gather(*(ups.tokens.token() for _ in range(20)))
        assert len(set(tokens)) == 1
        assert count(box, "hmpps-auth", TOKEN) == 1


async def test_invalidate_only_drops_the_current_token(box: Sandbox) -> None:
    async with await opened(box) as ups:
        token = await ups.tokens.token()
        ups.tokens.invalidate("some-older-token")
        assert await ups.tokens.token() == token
        ups.tokens.invalidate(token)
        assert await ups.tokens.token() != token
        assert count(box, "hmpps-auth", TOKEN) == 2


async def test_secrets_never_show(box: Sandbox) -> None:
    async with await opened(box) as ups:
        token = await ups.tokens.token()
        shown = repr(ups.tokens) + str(ups.tokens) + repr(ups.http("hmpps-auth"))
        assert box.client_secret not in shown
        assert token not in shown
        assert "cached" in repr(ups.tokens)


async def test_bad_client_credentials_are_rejected_by_the_sign_in_service(box: Sandbox) -> None:
    async with await opened(box, client_secret="wrong-secret") as ups:
        with pytest.raises(UpstreamRejected) as raised:
            await ups.prison_api.agency("LEI")
    assert raised.value.upstream == "hmpps-auth"
    assert raised.value.status == 401
    assert "wrong-secret" not in str(raised.value)
    assert count(box, "hmpps-auth", TOKEN) == 1, "a 401 from the sign-in service is final"
    assert box.total_requests("prison-api") == 0


async def test_a_failing_sign_in_service_is_not_blamed_on_the_data_upstream(box: Sandbox) -> None:
    async with await opened(box, breaker_failure_threshold=3, upstream_retries=2) as ups:
        box.set_fault("hmpps-auth", Fault(status=503, path="/auth/oauth/token"))
        with pytest.raises(UpstreamRejected) as raised:
            await ups.prison_api.agency("LEI")
        assert raised.value.upstream == "hmpps-auth"
        assert raised.value.status == 503
        assert count(box, "hmpps-auth", TOKEN) == 3, "retried by the sign-in layer only"
        assert box.total_requests("prison-api") == 0
        assert ups.breakers()["hmpps-auth"] == "open"
        assert ups.breakers()["prison-api"] == "closed"
        assert ups.prison_api.http.breaker.consecutive_failures == 0


# --- retries ------------------------------------------------------------------------


async def test_503_is_retried_until_it_succeeds(box: Sandbox) -> None:
    async with await opened(box, upstream_retries=5) as ups:
        await warm(ups, box)
        box.set_fault("prisoner-search", Fault(status=503, path="/prisoner/"))

        async def heal_after_first_failure() -> None:
            while count(box, "prisoner-search", PRISONER) < 1:  # noqa: ASYNC110 - polling a counter
                await asyncio.sleep(0.001)
            box.clear_faults()

        healer = asyncio.create_task(heal_after_first_failure())
        found = await ups.prisoner_search.get_prisoner(a_prisoner(box))
        await healer
        assert found is not None
        assert 2 <= count(box, "prisoner-search", PRISONER) <= 6


async def test_persistent_503_gives_up_after_the_configured_retries(box: Sandbox) -> None:
    async with await opened(box, upstream_retries=2) as ups:
        await warm(ups, box)
        box.set_fault("prison-api", Fault(status=503))
        started = time.perf_counter()
        with pytest.raises(UpstreamRejected) as raised:
            await ups.prison_api.agency("LEI")
        assert time.perf_counter() - started < 1.0, "backoff is small"
        assert raised.value.status == 503
        assert raised.value.upstream == "prison-api"
        assert count(box, "prison-api", "GET /api/agencies/{agencyId}") == 3


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_other_transient_statuses_are_retried(box: Sandbox, status: int) -> None:
    async with await opened(box, upstream_retries=1) as ups:
        await warm(ups, box)
        box.set_fault("nomis-user-roles", Fault(status=status))
        with pytest.raises(UpstreamRejected):
            await ups.user_roles.user("ANYONE")
        assert box.total_requests("nomis-user-roles") == 2


@pytest.mark.parametrize("status", [400, 403, 404, 409, 501])
async def test_answers_are_not_retried(box: Sandbox, status: int) -> None:
    async with await opened(box, upstream_retries=3) as ups:
        await warm(ups, box)
        box.set_fault("prison-api", Fault(status=status))
        with pytest.raises(UpstreamRejected) as raised:
            await ups.prison_api.poms_at_prison("LEI")
        assert raised.value.status == status
        assert box.total_requests("prison-api") == 1


async def test_a_404_on_a_lookup_is_none_and_not_retried(box: Sandbox) -> None:
    async with await opened(box, upstream_retries=3) as ups:
        await warm(ups, box)
        assert await ups.prison_api.agency("XXX") is None
        assert await ups.user_roles.user("NOBODY_HERE") is None
        assert box.total_requests() == 2


async def test_a_404_on_a_listing_is_an_error(box: Sandbox) -> None:
    async with await opened(box) as ups:
        box.set_fault("prisoner-search", Fault(status=404, path="/prisoner-search/"))
        with pytest.raises(UpstreamNotFound):
            await ups.prisoner_search.prisoners_in_prison("LEI", page=0, size=10)


async def test_the_request_budget_stops_retries(box: Sandbox) -> None:
    async with await opened(box, upstream_retries=3) as ups:
        await warm(ups, box)
        box.set_fault("prisoner-search", Fault(status=503))
        with retry_budget(1) as budget:
            for _ in range(2):
                with pytest.raises(UpstreamRejected):
                    await ups.prisoner_search.get_prisoner(a_prisoner(box))
            with pytest.raises(UpstreamRejected):
                await ups.prisoner_search.prisoners_by_numbers(["A1234BC"])
        assert budget.spent == 1
        assert count(box, "prisoner-search", PRISONER) == 3, "2 + 1: one retry in all"
        assert count(box, "prisoner-search", "POST /prisoner-search/prisoner-numbers") == 1


async def test_each_attempt_counts_for_the_graphql_request(box: Sandbox) -> None:
    async with await opened(box, upstream_retries=2) as ups:
        box.set_fault("prison-api", Fault(status=502))
        with calls.track_calls() as counter, pytest.raises(UpstreamRejected):
            await ups.prison_api.staff_by_ids([1, 2, 3])
        assert counter.upstream == 1 + 3  # the token, then three attempts
        assert counter.upstream == box.total_requests()


# --- timeouts, broken bodies, dead hosts -------------------------------------------


async def test_a_hanging_upstream_times_out_within_the_total_timeout(box: Sandbox) -> None:
    async with await opened(box, upstream_retries=0, upstream_total_timeout_s=0.5) as ups:
        await warm(ups, box)
        box.set_fault("prisoner-search", Fault(mode="hang"))
        started = time.perf_counter()
        with pytest.raises(UpstreamTimeout) as raised:
            await ups.prisoner_search.get_prisoner(a_prisoner(box))
        elapsed = time.perf_counter() - started
        assert 0.45 <= elapsed < 1.0
        assert raised.value.upstream == "prisoner-search"
        assert raised.value.code == "UPSTREAM_TIMEOUT"


async def test_timeouts_are_retried(box: Sandbox) -> None:
    async with await opened(box, upstream_retries=1, upstream_total_timeout_s=0.2) as ups:
        await warm(ups, box)
        box.set_fault("nomis-user-roles", Fault(mode="hang"))
        with pytest.raises(UpstreamTimeout):
            await ups.user_roles.caseloads("ANYONE")
        assert box.total_requests("nomis-user-roles") == 2


@pytest.mark.parametrize("mode", ["malformed", "truncate"])
async def test_an_unreadable_body_is_rejected_without_retry(box: Sandbox, mode: str) -> None:
    async with await opened(box, upstream_retries=2) as ups:
        await warm(ups, box)
        box.set_fault("prisoner-search", Fault(mode=mode))  # type: ignore[arg-type]
        with pytest.raises(UpstreamRejected) as raised:
            await ups.prisoner_search.get_prisoner(a_prisoner(box))
        assert raised.value.upstream == "prisoner-search"
        assert raised.value.status == 200
        assert not isinstance(raised.value, UpstreamNotFound)
        assert count(box, "prisoner-search", PRISONER) == 1


async def test_connection_refused_is_unavailable(box: Sandbox) -> None:
    async with await opened(box, prisoner_search_url=closed_port_url(), upstream_retries=1) as ups:
        with pytest.raises(UpstreamUnavailable) as raised:
            await ups.prisoner_search.get_prisoner(a_prisoner(box))
        assert raised.value.upstream == "prisoner-search"
        assert not isinstance(raised.value, CircuitOpen)
        assert "aiohttp" not in type(raised.value).__module__


async def test_a_dead_sign_in_service_names_itself(box: Sandbox) -> None:
    async with await opened(box, hmpps_auth_url=closed_port_url(), upstream_retries=0) as ups:
        with pytest.raises(UpstreamUnavailable) as raised:
            await ups.prison_api.poms_at_prison("LEI")
        assert raised.value.upstream == "hmpps-auth"
        assert box.total_requests() == 0


# --- circuit breaker ---------------------------------------------------------------


async def test_breaker_opens_fails_fast_then_closes_after_the_reset_timeout(
    box: Sandbox,
) -> None:
    settings = {
        "upstream_retries": 0,
        "breaker_failure_threshold": 3,
        "breaker_reset_timeout_s": 0.3,
    }
    async with await opened(box, **settings) as ups:
        await warm(ups, box)
        box.set_fault("prisoner-search", Fault(status=503))
        number = a_prisoner(box)
        for _ in range(3):
            with pytest.raises(UpstreamRejected):
                await ups.prisoner_search.get_prisoner(number)
        assert ups.breakers()["prisoner-search"] == "open"

        with pytest.raises(UpstreamUnavailable, match="circuit open") as raised:
            await ups.prisoner_search.get_prisoner(number)
        assert raised.value.upstream == "prisoner-search"
        assert count(box, "prisoner-search", PRISONER) == 3, "fast fail sends nothing"
        assert await ups.prison_api.agency("LEI") is not None, "other upstreams unaffected"
        assert await ups.prisoner_search.ping(), "/health still pings through an open breaker"

        box.clear_faults()
        await asyncio.sleep(0.35)
        assert ups.breakers()["prisoner-search"] == "half-open"
        assert await ups.prisoner_search.get_prisoner(number) is not None
        assert ups.breakers()["prisoner-search"] == "closed"
        assert count(box, "prisoner-search", PRISONER) == 4


async def test_a_failed_probe_reopens_the_breaker(box: Sandbox) -> None:
    settings = {
        "upstream_retries": 2,
        "breaker_failure_threshold": 1,
        "breaker_reset_timeout_s": 0.2,
    }
    async with await opened(box, **settings) as ups:
        await warm(ups, box)
        box.set_fault("prison-api", Fault(mode="hang"))
        with pytest.raises(UpstreamTimeout):
            await ups.prison_api.agency("LEI")
        assert count(box, "prison-api", "GET /api/agencies/{agencyId}") == 1, "no retry via open"
        await asyncio.sleep(0.25)
        box.set_fault("prison-api", Fault(status=500))
        with pytest.raises(UpstreamRejected):
            await ups.prison_api.agency("LEI")
        assert ups.breakers()["prison-api"] == "open"
        with pytest.raises(CircuitOpen):
            await ups.prison_api.agency("LEI")
        assert count(box, "prison-api", "GET /api/agencies/{agencyId}") == 2


async def test_client_errors_do_not_open_the_breaker(box: Sandbox) -> None:
    async with await opened(box, breaker_failure_threshold=2) as ups:
        for _ in range(4):
            assert await ups.prison_api.agency("NOPE") is None
        assert ups.breakers()["prison-api"] == "closed"


# --- never a write ------------------------------------------------------------------


async def test_a_post_outside_the_allow_list_is_refused_before_sending(box: Sandbox) -> None:
    async with await opened(box) as ups:
        http = ups.prison_api.http
        for path in ("/api/staff/123", "/api/bookings/1/alerts", "/api/staff/../agencies"):
            with pytest.raises((UpstreamWriteRefused, ValueError)):
                await http.post_read_json(path, {"x": 1})
        with pytest.raises(UpstreamWriteRefused):
            await ups.prisoner_search.http.post_read_json("/api/staff", [1])
        with pytest.raises(UpstreamWriteRefused):
            await ups.user_roles.http.post_read_json("/users/ANY", {})
        with pytest.raises(UpstreamWriteRefused):
            await ups.http("hmpps-auth").post_read_form("/auth/sandbox/token", {})
    assert box.total_requests() == 0, "nothing sent, not even a token request"
    assert box.non_read_requests() == {}


async def test_the_session_itself_refuses_write_methods(box: Sandbox) -> None:
    async with await opened(box) as ups:
        http = ups.prison_api.http
        session = http._session
        for method in ("PUT", "PATCH", "DELETE"):
            with pytest.raises(UpstreamWriteRefused):
                await session.request(method, http.base_url + "/api/staff")
    assert box.total_requests() == 0
    assert box.non_read_requests() == {}


def test_the_http_layer_offers_reads_only() -> None:
    public = {
        name
        for name, member in inspect.getmembers(UpstreamHttp)
        if not name.startswith("_") and callable(member)
    }
    assert public == {
        "close",
        "from_settings",
        "get_json",
        "get_json_bytes",
        "get_json_response",
        "ping",
        "post_read_form",
        "post_read_json",
    }


async def test_errors_are_always_from_our_tree(box: Sandbox) -> None:
    async with await opened(box, upstream_retries=0) as ups:
        for fault in (Fault(mode="hang"), Fault(mode="truncate"), Fault(status=503)):
            box.set_fault("prison-api", fault)
            with pytest.raises(UpstreamError):
                await ups.prison_api.movements_on(box.data.today)


async def test_204_is_an_empty_answer(box: Sandbox) -> None:
    async with await opened(box) as ups:
        box.set_fault("prison-api", Fault(status=204, path="/api/"))
        assert await ups.prison_api.staff_by_ids([1, 2]) == []
        assert await ups.prison_api.movements_on(box.data.today) == []
        assert await ups.prison_api.poms_at_prison("LEI") == []
        assert await ups.prison_api.agency("LEI") is None
        assert ups.breakers()["prison-api"] == "closed"
