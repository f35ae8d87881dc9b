"""Extra RSA keys and a tiny JWKS server for the rotation and outage tests.

The sandbox sign-in service publishes exactly one key (the sandbox key). Key
rotation, refused keys and JWKS outages need a JWKS whose content and health
the test controls, so this module serves one over real HTTP on loopback.
"""

from __future__ import annotations

import base64
import functools
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from allocation_api.upstream.fakes.keys import sandbox_public_jwk

JWKS_PATH = "/auth/.well-known/jwks.json"


@functools.cache
def rsa_key(name: str, bits: int = 2048) -> rsa.RSAPrivateKey:
    """A fresh RSA key per name, generated once per test session."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _b64url_uint(value: int) -> str:
    data = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_jwk(key: rsa.RSAPrivateKey, kid: str | None, **extra: str) -> dict[str, str]:
    """The JWKS entry for `key`, shaped like HMPPS Auth's."""
    numbers = key.public_key().public_numbers()
    entry = {"kty": "RSA", "e": _b64url_uint(numbers.e), "use": "sig", "alg": "RS256"}
    entry["n"] = _b64url_uint(numbers.n)
    if kid is not None:
        entry["kid"] = kid
    entry.update(extra)
    return entry


def claims(issuer: str, **overrides: Any) -> dict[str, Any]:
    """HMPPS-style user-token claims; an override of None removes the claim."""
    now = int(time.time())
    result: dict[str, Any] = {
        "sub": "jsmith_gen",
        "user_name": "jsmith_gen",
        "name": "John Smith",
        "authorities": ["ROLE_ALLOC_MGR"],
        "scope": ["read"],
        "client_id": "allocation-manager",
        "auth_source": "nomis",
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": str(uuid.uuid4()),
    }
    for name, value in overrides.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = value
    return result


def sign(
    key: rsa.RSAPrivateKey,
    payload: Mapping[str, Any],
    *,
    kid: str | None,
    algorithm: str = "RS256",
) -> str:
    headers: dict[str, Any] = {"typ": "JWT"}
    if kid is not None:
        headers["kid"] = kid
    return jwt.encode(dict(payload), key, algorithm=algorithm, headers=headers)


class JwksServer:
    """A loopback HTTP server publishing a JWKS the test can change or break."""

    def __init__(self) -> None:
        self.keys: list[Any] = [sandbox_public_jwk()]
        self.status = 200
        self.body: bytes | None = None  # served verbatim instead of the keys when set
        self.requests: Counter[str] = Counter()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    @property
    def jwks_url(self) -> str:
        return self.base_url + JWKS_PATH

    @property
    def jwks_requests(self) -> int:
        return self.requests["GET " + JWKS_PATH]

    def publish(self, keys: Sequence[Any]) -> None:
        """Serve `keys` (entries are served as given, so tests can publish junk) from now on."""
        self.keys = list(keys)
        self.status = 200
        self.body = None

    async def _serve(self, request: web.Request) -> web.Response:
        self.requests[f"{request.method} {request.path}"] += 1
        if self.status != 200:
            return web.json_response({"status": self.status}, status=self.status)
        if self.body is not None:
            return web.Response(body=self.body, content_type="application/json")
        return web.json_response({"keys": self.keys})

    async def start(self) -> JwksServer:
        app = web.Application()
        app.router.add_get(JWKS_PATH, self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
