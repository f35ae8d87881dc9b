"""Fixtures for the auth tests: an HTTP client session and a controllable JWKS server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.auth.keyring import JwksServer
from tests.auth.signin import SignIn


class FakeClock:
    """A monotonic clock the test moves by hand, so rate limits need no sleeping."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def jwks_server() -> AsyncIterator[JwksServer]:
    server = await JwksServer().start()
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
async def signin() -> AsyncIterator[SignIn]:
    server = await JwksServer().start()

    async def jwks_requests() -> int:
        return server.jwks_requests

    try:
        yield SignIn(server.jwks_url, server.base_url + "/auth/issuer", jwks_requests)
    finally:
        await server.close()
