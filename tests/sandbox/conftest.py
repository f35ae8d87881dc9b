"""Fixtures for talking to the sandbox upstreams over real HTTP.

The session-wide `sandbox` comes from tests/conftest.py and must only ever
receive reads (the suite ends by auditing that), so anything that writes,
injects faults or changes data uses `private_fakes`: a small sandbox of its
own, shared by one test module and cleaned between tests.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import pytest
from multidict import CIMultiDictProxy

from allocation_api.sandbox import Sandbox, start_sandbox


@dataclass(frozen=True)
class Reply:
    """One upstream answer, read completely."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class FakeClient:
    """Calls one sandbox's upstreams by name, with the service's bearer token by default."""

    http: aiohttp.ClientSession
    sandbox: Sandbox
    token: str

    async def call(
        self,
        method: str,
        upstream: str,
        path: str,
        *,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        params: Any = None,
        token: str | None = "default",
        time_limit_s: float = 10.0,
    ) -> Reply:
        all_headers = {"Content-Type": "application/json"}
        if token == "default":
            token = self.token
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        all_headers.update(headers or {})
        async with self.http.request(
            method,
            self.sandbox.urls[upstream] + path,
            data=orjson.dumps(json) if json is not None else data,
            headers=all_headers,
            params=params,
            timeout=aiohttp.ClientTimeout(total=time_limit_s),
        ) as response:
            return Reply(response.status, response.headers, await response.read())

    async def get(self, upstream: str, path: str, **kwargs: Any) -> Reply:
        return await self.call("GET", upstream, path, **kwargs)

    async def post(self, upstream: str, path: str, **kwargs: Any) -> Reply:
        return await self.call("POST", upstream, path, **kwargs)


def basic_auth(client_id: str, secret: str) -> str:
    """An HTTP Basic Authorization header value."""
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


async def service_token(http: aiohttp.ClientSession, sandbox: Sandbox) -> str:
    """A client-credentials token from the fake sign-in service, as the service gets one."""
    async with http.post(
        sandbox.urls["hmpps-auth"] + "/auth/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic_auth(sandbox.client_id, sandbox.client_secret)},
    ) as response:
        assert response.status == 200, await response.text()
        return str((await response.json())["access_token"])


@pytest.fixture(scope="session")
async def sandbox_http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


@pytest.fixture(scope="session")
async def fakes(sandbox: Sandbox, sandbox_http: aiohttp.ClientSession) -> FakeClient:
    """Read-only access to the session sandbox."""
    return FakeClient(sandbox_http, sandbox, await service_token(sandbox_http, sandbox))


@pytest.fixture(scope="module")
async def private_sandbox() -> AsyncIterator[Sandbox]:
    async with await start_sandbox(seed=7, prisoners_per_prison=60, poms_per_prison=6) as box:
        yield box


@pytest.fixture
async def private_fakes(
    private_sandbox: Sandbox, sandbox_http: aiohttp.ClientSession
) -> AsyncIterator[FakeClient]:
    """A private sandbox with no fault and zeroed counts at the start of each test."""
    private_sandbox.clear_faults()
    private_sandbox.reset_counts()
    yield FakeClient(
        sandbox_http, private_sandbox, await service_token(sandbox_http, private_sandbox)
    )
    private_sandbox.clear_faults()
