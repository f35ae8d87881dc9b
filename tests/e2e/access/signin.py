"""A stand-in production sign-in service: publishes only keys the test chooses.

The sandbox sign-in service always publishes the sandbox key, which `serve`
mode refuses; to exercise the other production behaviours the API needs a
sign-in service whose JWKS holds only a key of our own. This one serves
`/auth/.well-known/jwks.json` from `published` and forwards the API's own
client-credentials requests (`/auth/oauth/token`) to the sandbox, so the
upstream reads still carry tokens the sandbox data servers accept.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web

from tests.e2e.access.forge import OWN_KID, own_key, public_jwk, sign_rs256, user_claims

JWKS_PATH = "/auth/.well-known/jwks.json"


class OwnSignIn:
    """One aiohttp server on a loopback port; `published` is the JWKS it serves."""

    def __init__(self, sandbox_auth_url: str) -> None:
        self._sandbox_auth_url = sandbox_auth_url
        self.published: list[dict[str, Any]] = [public_jwk(own_key(), OWN_KID)]
        self.jwks_requests = 0
        self.jwks_status = 200
        """Set to 503 to make the JWKS unreachable."""
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self.url = ""

    @property
    def issuer(self) -> str:
        return f"{self.url}/auth/issuer"

    def user_token(self, username: str, roles: list[str], **overrides: Any) -> str:
        """A user token signed with our own published key, for this issuer."""
        return sign_rs256(
            own_key(), user_claims(self.issuer, username, roles, **overrides), kid=OWN_KID
        )

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get(JWKS_PATH, self._jwks)
        app.router.add_post("/auth/oauth/token", self._token)
        app.router.add_get("/auth/health/ping", self._ping)
        self._http = aiohttp.ClientSession()
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    async def _jwks(self, _request: web.Request) -> web.Response:
        self.jwks_requests += 1
        if self.jwks_status != 200:
            return web.json_response({"error": "unavailable"}, status=self.jwks_status)
        return web.json_response({"keys": self.published})

    async def _ping(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "UP"})

    async def _token(self, request: web.Request) -> web.Response:
        assert self._http is not None
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() in ("authorization", "content-type", "accept")
        }
        async with self._http.post(
            f"{self._sandbox_auth_url}/auth/oauth/token",
            params=request.query,
            data=await request.read(),
            headers=headers,
        ) as answer:
            return web.Response(
                body=await answer.read(),
                status=answer.status,
                content_type=answer.content_type,
            )
