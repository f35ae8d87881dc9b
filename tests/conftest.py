"""Shared fixtures: ONE sandbox (the fake NOMIS upstreams, real HTTP), ONE
migrated database and ONE running API (uvicorn on a loopback port) for the
whole session, so the final audit can prove the sandbox only ever received
reads. Tests that change data use fresh prisoners or reset what they touch.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import uvicorn

from allocation_api.app import create_app
from allocation_api.devstack import request_token
from allocation_api.sandbox import Sandbox, start_sandbox
from allocation_api.settings import Settings
from allocation_api.store.testing import database_for_tests
from allocation_api.web.server import server_config

SANDBOX_CLIENT = ("allocation-api", "sandbox-secret")


@pytest.fixture(scope="session")
async def sandbox() -> AsyncIterator[Sandbox]:
    box = await start_sandbox(
        seed=42,
        prisoners_per_prison=300,
        client_id=SANDBOX_CLIENT[0],
        client_secret=SANDBOX_CLIENT[1],
    )
    try:
        yield box
    finally:
        await box.close()


@pytest.fixture(scope="session")
async def database_url() -> str:
    return await database_for_tests()


def settings_for(sandbox: Sandbox, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "mode": "dev",
        "database_url": database_url,
        "prisoner_search_url": sandbox.urls["prisoner-search"],
        "prison_api_url": sandbox.urls["prison-api"],
        "nomis_user_roles_url": sandbox.urls["nomis-user-roles"],
        "hmpps_auth_url": sandbox.urls["hmpps-auth"],
        "client_id": SANDBOX_CLIENT[0],
        "client_secret": SANDBOX_CLIENT[1],
        "migrate_on_start": False,
        "upstream_total_timeout_s": 5.0,
        # Exact call counts in tests must not depend on what earlier tests cached.
        "cache_ttl_prisoners_s": 0,
        # Tests that watch /health change (breakers, a database restart) see each change.
        "health_cache_s": 0,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningApi:
    url: str
    sandbox: Sandbox
    settings: Settings
    app: Any
    http: aiohttp.ClientSession
    tokens: dict[tuple[Any, ...], str]

    async def token(
        self,
        username: str | None = "SPO_MULTI",
        roles: tuple[str, ...] = ("ROLE_ALLOC_MGR",),
        caseloads: tuple[str, ...] = ("LEI", "MDI", "BXI"),
    ) -> str:
        """A real token from the sandbox sign-in service (which registers the caseloads)."""
        key = (username, roles, caseloads)
        if key not in self.tokens:
            self.tokens[key] = await request_token(
                self.sandbox.urls["hmpps-auth"],
                username=username,
                roles=list(roles),
                caseloads=list(caseloads),
                expires_in=3600,
            )
        return self.tokens[key]

    async def post(
        self, body: Any, *, token: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        data = body if isinstance(body, bytes) else None
        async with self.http.post(
            f"{self.url}/graphql",
            data=data,
            json=None if data is not None else body,
            headers=all_headers,
        ) as response:
            text = await response.read()
            try:
                import orjson

                return response.status, orjson.loads(text)
            except Exception:
                return response.status, text

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        """Run a query as the default SPO; return the whole JSON body (asserting HTTP 200)."""
        status, body = await self.post(
            {"query": query, "variables": variables or {}},
            token=token if token is not None else await self.token(),
        )
        assert status == 200, body
        return body  # type: ignore[no-any-return]


@contextlib.asynccontextmanager
async def running_api(settings: Settings, sandbox: Sandbox) -> AsyncIterator[RunningApi]:
    app = create_app(settings)
    port = _free_port()
    # The server `serve` and `dev` run, with the same limits (web/server.py).
    server = uvicorn.Server(server_config(app, settings, host="127.0.0.1", port=port))
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]

    async def serve() -> None:
        try:
            await server.serve()
        except SystemExit as error:  # uvicorn exits the process when start-up fails
            raise RuntimeError("the API did not start (see the log)") from error

    task = asyncio.create_task(serve())
    while not server.started:
        if task.done():
            await task
            raise RuntimeError("the API did not start")
        await asyncio.sleep(0.02)
    try:
        async with aiohttp.ClientSession() as http:
            yield RunningApi(f"http://127.0.0.1:{port}", sandbox, settings, app, http, {})
    finally:
        server.should_exit = True
        await task


@pytest.fixture(scope="session")
async def api(sandbox: Sandbox, database_url: str) -> AsyncIterator[RunningApi]:
    async with running_api(settings_for(sandbox, database_url), sandbox) as running:
        yield running
