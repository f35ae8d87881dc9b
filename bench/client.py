"""Small HTTP helpers: GraphQL requests to the API and the sandbox's control routes.

Seeding and probing go through the API's public GraphQL surface (so the
rules, history and version checks apply to the seeded data exactly as they
do to real data); only the latency switch, request counters and tokens use
the sandbox's own control API.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson


class BenchError(RuntimeError):
    """The benchmark cannot go on (a request failed where success is required)."""


class GraphQL:
    """POSTs GraphQL documents to one API with one bearer token."""

    def __init__(self, session: aiohttp.ClientSession, api_url: str, token: str) -> None:
        self.session = session
        self.url = f"{api_url}/graphql"
        self.token = token
        self.headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    async def post_raw(self, body: bytes) -> tuple[int, bytes]:
        """One request with a pre-encoded body: status and raw response bytes."""
        async with self.session.post(self.url, data=body, headers=self.headers) as response:
            return response.status, await response.read()

    async def run(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The whole response body; BenchError unless it is a 200 without `errors`."""
        return await self.run_body(request_body(query, variables))

    async def run_body(self, body: bytes) -> dict[str, Any]:
        status, raw = await self.post_raw(body)
        try:
            parsed: dict[str, Any] = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise BenchError(f"HTTP {status}, not JSON: {raw[:300]!r}") from None
        if status != 200 or parsed.get("errors"):
            raise BenchError(f"HTTP {status}: {orjson.dumps(parsed.get('errors'))[:600]!r}")
        return parsed


def request_body(query: str, variables: dict[str, Any] | None = None) -> bytes:
    """The JSON body of a GraphQL request (as a client would send it)."""
    payload: dict[str, Any] = {"query": query}
    if variables:
        payload["variables"] = variables
    return orjson.dumps(payload)


async def user_token(
    session: aiohttp.ClientSession,
    auth_url: str,
    *,
    username: str,
    roles: list[str],
    caseloads: list[str],
    expires_in: int = 36_000,
) -> str:
    """A user token from the sandbox sign-in service (which registers the caseloads)."""
    body = {"username": username, "roles": roles, "caseloads": caseloads, "expiresIn": expires_in}
    async with session.post(f"{auth_url}/auth/sandbox/token", json=body) as response:
        if response.status != 200:
            raise BenchError(f"sandbox token: HTTP {response.status}: {await response.text()}")
        return str((await response.json())["access_token"])


async def set_latency(session: aiohttp.ClientSession, urls: dict[str, str], ms: int) -> None:
    """Make every sandbox upstream wait `ms` per request (0 clears the fault)."""
    for base in urls.values():
        if ms > 0:
            request = session.put(f"{base}/__sandbox/faults", json={"latencyMs": ms})
        else:
            request = session.delete(f"{base}/__sandbox/faults")
        async with request as response:
            if response.status not in (200, 204):
                raise BenchError(f"{base}: setting latency: HTTP {response.status}")


async def sandbox_requests(session: aiohttp.ClientSession, urls: dict[str, str]) -> int:
    """Requests the sandbox upstreams received since their counters were last reset."""
    total = 0
    for base in urls.values():
        async with session.get(f"{base}/__sandbox/requests") as response:
            counts: dict[str, int] = await response.json()
        total += sum(counts.values())
    return total


async def reset_sandbox_requests(session: aiohttp.ClientSession, urls: dict[str, str]) -> None:
    for base in urls.values():
        async with session.delete(f"{base}/__sandbox/requests") as response:
            await response.read()


async def nomis_staff_status(
    session: aiohttp.ClientSession, prison_api_url: str, token: str, staff_ids: list[int]
) -> dict[int, str]:
    """NOMIS status (ACTIVE / INACT) per staff id, read from the fake prison API.

    The sandbox lists one POM per prison whose NOMIS record is inactive; the
    API refuses to allocate to them (POM_INACTIVE), so seeding avoids them up
    front instead of learning it from refusals.
    """
    async with session.post(
        f"{prison_api_url}/api/staff",
        json=staff_ids,
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        if response.status != 200:
            return {}
        rows: list[dict[str, Any]] = await response.json()
    return {int(row["staffId"]): str(row.get("status")) for row in rows}
