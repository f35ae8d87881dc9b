"""Fake HMPPS Auth: client-credentials tokens, JWKS, OpenID metadata, sandbox user tokens.

Tokens are signed with the sandbox key (`keys.py`), so the other fakes (and
the service in dev mode) can verify them through the JWKS like real ones.
`POST /auth/sandbox/token` is a sandbox-only extension: it mints a user
token for any user, roles and caseloads, and registers that user with the
fake NOMIS user roles so the service's caseload lookup agrees with the token.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Mapping
from typing import Any

import jwt
from aiohttp import web

from allocation_api.sandbox.data import SandboxData
from allocation_api.sandbox.keys import SandboxKey
from allocation_api.sandbox.server import BadRequest, FakeUpstream, json_response, read_json

CLIENT_ROLES: tuple[str, ...] = (
    "ROLE_SYSTEM_USER",
    "ROLE_VIEW_PRISONER_DATA",
    "ROLE_PRISONER_SEARCH",
    "ROLE_GLOBAL_SEARCH",
)
"""Authorities of the service's client-credentials token (what real reads need)."""

DEFAULT_TOKEN_TTL_S = 1200
_OAUTH_ERRORS = {400: "invalid_request", 401: "unauthorized", 403: "access_denied"}


class HmppsAuth(FakeUpstream):
    """The sign-in service; issuer is `<base>/auth/issuer`."""

    name = "hmpps-auth"
    public_paths = ("/",)

    def __init__(
        self,
        data: SandboxData,
        *,
        key: SandboxKey,
        client_id: str,
        client_secret: str,
        latency_ms: int = 0,
        fault_seed: int = 0,
    ) -> None:
        super().__init__(data, verifier=None, latency_ms=latency_ms, fault_seed=fault_seed)
        self.key = key
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl_s = DEFAULT_TOKEN_TTL_S
        """Lifetime of tokens from `/auth/oauth/token` (tests shorten it to force refreshes)."""
        self.extra_jwks: list[dict[str, Any]] = []
        """More public keys to publish, as during a key rotation."""

    @property
    def issuer(self) -> str:
        return f"{self.url}/auth/issuer"

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/auth/oauth/token", self.token)
        router.add_get("/auth/.well-known/jwks.json", self.jwks)
        router.add_get("/auth/issuer/.well-known/openid-configuration", self.openid_configuration)
        router.add_post("/auth/sandbox/token", self.sandbox_token)

    def extra_ping_paths(self) -> tuple[str, ...]:
        return ("/auth/health/ping",)

    def error_body(self, status: int, message: str) -> Mapping[str, Any]:
        return {"error": _OAUTH_ERRORS.get(status, "server_error"), "error_description": message}

    async def token(self, request: web.Request) -> web.Response:
        """Client-credentials grant; HTTP Basic client auth; grant_type in form or query."""
        client = _basic_credentials(request.headers.get("Authorization"))
        if client is None:
            return self.error(401, "Full authentication is required to access this resource")
        if not (_same(client[0], self.client_id) and _same(client[1], self.client_secret)):
            return _oauth_error(401, "invalid_client", "Bad client credentials")
        form = await request.post()
        grant_type = str(form.get("grant_type") or request.query.get("grant_type") or "")
        if not grant_type:
            return _oauth_error(400, "invalid_request", "Missing grant type")
        if grant_type != "client_credentials":
            return _oauth_error(
                400, "unsupported_grant_type", f"Unsupported grant type: {grant_type}"
            )
        username = str(form.get("username") or request.query.get("username") or "")
        extra: dict[str, Any] = {"auth_source": "none", "grant_type": "client_credentials"}
        token = self.key.mint(
            self.issuer,
            username=username.upper() if username else None,
            roles=CLIENT_ROLES,
            client_id=self.client_id,
            expires_in=self.token_ttl_s,
            extra_claims=extra,
        )
        claims = jwt.decode(token, options={"verify_signature": False})
        return json_response(
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": self.token_ttl_s - 1,
                "scope": " ".join(claims["scope"]),
                "sub": claims["sub"],
                "auth_source": claims["auth_source"],
                "iss": self.issuer,
                "jti": claims["jti"],
            }
        )

    async def jwks(self, _request: web.Request) -> web.Response:
        return json_response({"keys": [self.key.public_jwk(), *self.extra_jwks]})

    async def openid_configuration(self, _request: web.Request) -> web.Response:
        base = f"{self.url}/auth"
        return json_response(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{base}/oauth/authorize",
                "token_endpoint": f"{base}/oauth/token",
                "jwks_uri": f"{base}/.well-known/jwks.json",
                "response_types_supported": ["code", "token"],
                "grant_types_supported": ["client_credentials", "authorization_code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["read", "write"],
                "claims_supported": ["sub", "user_name", "name", "authorities", "auth_source"],
            }
        )

    async def sandbox_token(self, request: web.Request) -> web.Response:
        """Mint a token for any user (registering them with NOMIS user roles) or client."""
        body = await read_json(request)
        if not isinstance(body, dict):
            raise BadRequest("a JSON object is expected")
        roles = _strings(body.get("roles", []), "roles")
        expires_in = body.get("expiresIn", DEFAULT_TOKEN_TTL_S)
        if isinstance(expires_in, bool) or not isinstance(expires_in, int):
            raise BadRequest("expiresIn must be an integer number of seconds")
        username = body.get("username")
        name = body.get("name")
        if name is not None and not isinstance(name, str):
            raise BadRequest("name must be a string")
        if username is None:
            client_id = body.get("clientId", self.client_id)
            if not isinstance(client_id, str) or not client_id:
                raise BadRequest("clientId must be a non-empty string")
            token = self.key.mint(
                self.issuer, roles=roles, client_id=client_id, name=name, expires_in=expires_in
            )
            return json_response({"access_token": token, "expires_in": expires_in})
        if not isinstance(username, str) or not username.strip():
            raise BadRequest("username must be a non-empty string")
        username = username.strip().upper()
        caseloads = body.get("caseloads")
        staff_id = body.get("staffId")
        if staff_id is not None and (isinstance(staff_id, bool) or not isinstance(staff_id, int)):
            raise BadRequest("staffId must be an integer")
        first, last = _split_name(name)
        self.data.set_user(
            username,
            caseloads=_strings(caseloads, "caseloads") if caseloads is not None else None,
            staff_id=staff_id,
            first_name=first,
            last_name=last,
            roles=roles,
        )
        token = self.key.mint(
            self.issuer,
            username=username,
            roles=roles,
            client_id="allocation-api-sandbox-ui",
            name=name,
            expires_in=expires_in,
        )
        return json_response({"access_token": token, "expires_in": expires_in})


def _strings(value: Any, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"{field} must be a list of strings")
    return value


def _split_name(name: str | None) -> tuple[str | None, str | None]:
    if not name or not name.strip():
        return None, None
    first, _, last = name.strip().partition(" ")
    return first, (last or None)


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    return json_response({"error": error, "error_description": description}, status=status)


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison, as credential checks should be even in a sandbox."""
    return secrets.compare_digest(given.encode(), expected.encode())
