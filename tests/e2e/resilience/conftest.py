"""Fixtures for the resilience tests (issue 5): faults, concurrent writers, hostile input.

Faults are NEVER injected into the session `sandbox`: this package starts its
own sandbox (`box`) and its own database, and runs its own API instances on
them, each with settings suited to one kind of test:

- `fault_api`: short upstream timeouts, one retry, caches off and a breaker
  that never opens, so every request meets the injected fault itself;
- `breaker_api`: no retries, a breaker that opens after 3 failures and
  half-opens after 0.5 s.

Every test starts and ends with the sandbox's faults cleared.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from allocation_api.sandbox import Sandbox, start_sandbox
from allocation_api.settings import Settings
from allocation_api.store.testing import database_for_tests, drop_database_for_tests
from tests.conftest import SANDBOX_CLIENT, RunningApi, running_api, settings_for

# Settings every API instance of this package shares: upstream failures must
# show within a fraction of a second, and no cross-request cache may hide one.
FAST_FAILING: dict[str, Any] = {
    "upstream_connect_timeout_s": 0.5,
    "upstream_total_timeout_s": 0.5,
    "upstream_retries": 1,
    "upstream_retry_budget": 4,
    "cache_ttl_poms_s": 0,
    "cache_ttl_staff_s": 0,
    "cache_ttl_prisons_s": 0,
    "cache_ttl_prisoners_s": 0,
}


@pytest.fixture(scope="session")
async def box() -> AsyncIterator[Sandbox]:
    """This package's own sandbox: the only one faults are ever injected into."""
    sandbox = await start_sandbox(
        seed=7,
        prisoners_per_prison=80,
        poms_per_prison=8,
        client_id=SANDBOX_CLIENT[0],
        client_secret=SANDBOX_CLIENT[1],
    )
    try:
        yield sandbox
    finally:
        await sandbox.close()


@pytest.fixture(scope="session")
async def resilience_db() -> AsyncIterator[str]:
    """A database of this package's own, so audits count only what these tests wrote."""
    url = await database_for_tests()
    yield url
    await drop_database_for_tests(url)


def fault_settings(box: Sandbox, database_url: str, **overrides: Any) -> Settings:
    """Settings of `fault_api`: fast failing, and a breaker that never opens."""
    return settings_for(
        box, database_url, **FAST_FAILING, breaker_failure_threshold=1_000_000, **overrides
    )


@pytest.fixture(scope="session")
async def fault_api(box: Sandbox, resilience_db: str) -> AsyncIterator[RunningApi]:
    async with running_api(fault_settings(box, resilience_db), box) as running:
        yield running


@pytest.fixture(scope="session")
async def breaker_api(box: Sandbox, resilience_db: str) -> AsyncIterator[RunningApi]:
    settings = settings_for(
        box,
        resilience_db,
        **{**FAST_FAILING, "upstream_retries": 0},
        breaker_failure_threshold=3,
        breaker_reset_timeout_s=0.5,
    )
    async with running_api(settings, box) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_fault_survives_a_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Clear this package's sandbox faults around every test that uses it."""
    if "box" not in request.fixturenames:
        yield
        return
    sandbox: Sandbox = request.getfixturevalue("box")
    sandbox.clear_faults()
    try:
        yield
    finally:
        sandbox.clear_faults()
