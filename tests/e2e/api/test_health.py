"""`/health`: one check per cache window whoever asks, components only for a token.

Upstream pings are counted by the sandbox itself (exact counts): within the
window, anonymous and authenticated calls alike reuse one check.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from allocation_api.health import HealthCheck
from allocation_api.sandbox import Sandbox
from tests.conftest import RunningApi, running_api, settings_for

PING = "/health/ping"  # the sign-in service's is /auth/health/ping
WINDOW_S = 600.0  # far longer than the test: the window never ends inside it


@pytest.fixture(scope="module")
async def cached_api(sandbox: Sandbox, database_url: str) -> AsyncIterator[RunningApi]:
    settings = settings_for(sandbox, database_url, health_cache_s=WINDOW_S)
    async with running_api(settings, sandbox) as running:
        yield running


async def _health(api: RunningApi, token: str | None = None) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with api.http.get(f"{api.url}/health", headers=headers) as response:
        return response.status, await response.json()


def _pings(sandbox: Sandbox) -> dict[str, int]:
    pings = {
        name: sum(n for key, n in counts.items() if key.startswith("GET ") and key.endswith(PING))
        for name, counts in sandbox.request_counts().items()
    }
    return {name: n for name, n in pings.items() if n}


async def test_two_anonymous_calls_in_the_window_ping_upstreams_once(
    cached_api: RunningApi, sandbox: Sandbox
) -> None:
    cached_api.app.state.health_check = HealthCheck(WINDOW_S)  # an empty cache
    token = await cached_api.token()
    sandbox.reset_counts()
    first = await _health(cached_api)
    second = await _health(cached_api)
    assert first == second == (200, {"status": "UP"})
    pinged = _pings(sandbox)
    # Each upstream the service depends on, pinged exactly once for both calls.
    status, detailed = await _health(cached_api, token)
    assert status == 200
    upstreams = set(detailed["components"]) - {"db", "events"}
    assert upstreams >= {"prisoner-search", "prison-api", "nomis-user-roles"}
    assert pinged == dict.fromkeys(upstreams, 1)
    assert _pings(sandbox) == pinged  # the authenticated call used the same check


async def test_concurrent_calls_share_one_check(cached_api: RunningApi, sandbox: Sandbox) -> None:
    cached_api.app.state.health_check = HealthCheck(WINDOW_S)
    sandbox.reset_counts()
    answers = await asyncio.gather(*(_health(cached_api) for _ in range(10)))
    assert answers == [(200, {"status": "UP"})] * 10
    assert set(_pings(sandbox).values()) == {1}


async def test_components_only_for_a_valid_token(cached_api: RunningApi) -> None:
    status, anonymous = await _health(cached_api)
    assert (status, anonymous) == (200, {"status": "UP"})
    status, forged = await _health(cached_api, "not-a-token")
    assert (status, forged) == (200, {"status": "UP"})
    status, detailed = await _health(cached_api, await cached_api.token())
    assert status == 200
    assert detailed["components"]["db"] == {"status": "UP"}
    assert detailed["components"]["prisoner-search"]["details"] == {"circuitBreaker": "closed"}


@pytest.mark.parametrize("path", ["/health/ping", "/health/liveness", "/health/readiness"])
async def test_probes_stay_open_and_ping_no_upstream(
    cached_api: RunningApi, sandbox: Sandbox, path: str
) -> None:
    sandbox.reset_counts()
    async with cached_api.http.get(f"{cached_api.url}{path}") as response:
        assert response.status == 200
        assert await response.json() == {"status": "UP"}
    assert sandbox.total_requests() == 0
