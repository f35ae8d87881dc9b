"""Fixtures for the auth tests: the sandbox sign-in service, an HTTP session, a hand-moved clock.

The sandbox is started once for the auth tests (a single small prison: only
its sign-in service is used here). Each test gets it back clean: no faults,
no extra published keys, request counts at zero.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from allocation_api.sandbox import Sandbox, start_sandbox
from tests.auth.signin import SignIn


class FakeClock:
    """A monotonic clock the test moves by hand, so rate limits need no sleeping."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="session")
async def signin_sandbox() -> AsyncIterator[Sandbox]:
    sandbox = await start_sandbox(prisoners_per_prison=10, prisons=("LEI",), poms_per_prison=2)
    try:
        yield sandbox
    finally:
        await sandbox.close()


@pytest.fixture
def signin(signin_sandbox: Sandbox) -> SignIn:
    signin_sandbox.clear_faults("hmpps-auth")
    signin_sandbox.auth.extra_jwks.clear()
    signin_sandbox.reset_counts("hmpps-auth")
    return SignIn(signin_sandbox)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
