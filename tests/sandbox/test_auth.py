"""The fake sign-in service over HTTP: token grant, JWKS, metadata, sandbox tokens."""

from __future__ import annotations

import aiohttp
import jwt
import pytest

from allocation_api.sandbox import Sandbox

from .conftest import FakeClient, basic_auth

TOKEN = "/auth/oauth/token"


async def _grant(
    http: aiohttp.ClientSession,
    sandbox: Sandbox,
    *,
    form: dict[str, str] | None = None,
    query: str = "",
    authorization: str | None = "default",
) -> tuple[int, dict[str, object]]:
    headers = {}
    if authorization == "default":
        authorization = basic_auth(sandbox.client_id, sandbox.client_secret)
    if authorization is not None:
        headers["Authorization"] = authorization
    async with http.post(
        sandbox.urls["hmpps-auth"] + TOKEN + query, data=form or {}, headers=headers
    ) as response:
        return response.status, await response.json()


async def _verify_with_jwks(http: aiohttp.ClientSession, sandbox: Sandbox, token: str) -> dict:  # type: ignore[type-arg]
    async with http.get(sandbox.urls["hmpps-auth"] + "/auth/.well-known/jwks.json") as response:
        keys = (await response.json())["keys"]
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(k for k in keys if k["kid"] == kid)
    assert jwk["kty"] == "RSA"
    assert jwk["use"] == "sig"
    assert jwk["alg"] == "RS256"
    return jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["RS256"], issuer=sandbox.issuer)


async def test_client_credentials_in_the_form(
    sandbox: Sandbox, sandbox_http: aiohttp.ClientSession
) -> None:
    status, body = await _grant(sandbox_http, sandbox, form={"grant_type": "client_credentials"})
    assert status == 200
    assert body["token_type"] == "bearer"
    assert body["scope"] == "read write"
    assert body["iss"] == sandbox.issuer == sandbox.urls["hmpps-auth"] + "/auth/issuer"
    assert body["sub"] == sandbox.client_id
    assert body["auth_source"] == "none"
    assert isinstance(body["expires_in"], int)
    assert body["expires_in"] > 0
    claims = await _verify_with_jwks(sandbox_http, sandbox, str(body["access_token"]))
    assert claims["jti"] == body["jti"]
    assert claims["client_id"] == sandbox.client_id
    assert "ROLE_VIEW_PRISONER_DATA" in claims["authorities"]
    assert "user_name" not in claims


async def test_client_credentials_in_the_query_with_a_username(
    sandbox: Sandbox, sandbox_http: aiohttp.ClientSession
) -> None:
    status, body = await _grant(
        sandbox_http, sandbox, query="?grant_type=client_credentials&username=spo_lei"
    )
    assert status == 200
    claims = await _verify_with_jwks(sandbox_http, sandbox, str(body["access_token"]))
    assert claims["user_name"] == claims["sub"] == "SPO_LEI"


@pytest.mark.parametrize(
    ("authorization", "form", "status", "error"),
    [
        (None, {"grant_type": "client_credentials"}, 401, "unauthorized"),
        (
            basic_auth("allocation-api", "wrong"),
            {"grant_type": "client_credentials"},
            401,
            "invalid_client",
        ),
        ("Basic !!!", {"grant_type": "client_credentials"}, 401, "unauthorized"),
        ("default", {}, 400, "invalid_request"),
        ("default", {"grant_type": "password"}, 400, "unsupported_grant_type"),
    ],
)
async def test_token_endpoint_refusals(
    sandbox: Sandbox,
    sandbox_http: aiohttp.ClientSession,
    authorization: str | None,
    form: dict[str, str],
    status: int,
    error: str,
) -> None:
    got_status, body = await _grant(sandbox_http, sandbox, form=form, authorization=authorization)
    assert (got_status, body["error"]) == (status, error)
    assert body["error_description"]


async def test_openid_configuration(sandbox: Sandbox, sandbox_http: aiohttp.ClientSession) -> None:
    base = sandbox.urls["hmpps-auth"]
    async with sandbox_http.get(base + "/auth/issuer/.well-known/openid-configuration") as r:
        meta = await r.json()
    assert meta["issuer"] == sandbox.issuer
    assert meta["jwks_uri"] == base + "/auth/.well-known/jwks.json"
    assert meta["token_endpoint"] == base + TOKEN


async def test_health_pings(sandbox: Sandbox, sandbox_http: aiohttp.ClientSession) -> None:
    for path in ("/health/ping", "/auth/health/ping"):
        async with sandbox_http.get(sandbox.urls["hmpps-auth"] + path) as r:
            assert (r.status, await r.json()) == (200, {"status": "UP"})


async def test_sandbox_token_registers_the_user(private_fakes: FakeClient) -> None:
    reply = await private_fakes.post(
        "hmpps-auth",
        "/auth/sandbox/token",
        json={
            "username": "new.spo",
            "roles": ["ROLE_ALLOC_MGR"],
            "caseloads": ["MDI", "LEI"],
            "name": "Nadia Spo",
            "expiresIn": 600,
            "staffId": 485_999,
        },
        token=None,
    )
    assert reply.status == 200
    body = reply.json()
    assert body["expires_in"] == 600
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["user_name"] == "NEW.SPO"
    assert claims["name"] == "Nadia Spo"
    assert claims["authorities"] == ["ROLE_ALLOC_MGR"]
    assert claims["auth_source"] == "nomis"
    assert claims["exp"] - claims["iat"] == 600
    caseloads = (await private_fakes.get("nomis-user-roles", "/users/NEW.SPO/caseloads")).json()
    assert caseloads["activeCaseload"]["id"] == "MDI"
    assert [c["id"] for c in caseloads["caseloads"]] == ["MDI", "LEI"]
    user = (await private_fakes.get("nomis-user-roles", "/users/NEW.SPO")).json()
    assert (user["staffId"], user["firstName"], user["lastName"]) == (485_999, "Nadia", "Spo")
    assert user["dpsRoleCodes"] == ["ALLOC_MGR"]
    # the minted token is accepted by the data upstreams too
    ping = await private_fakes.get("prison-api", "/api/agencies/LEI", token=body["access_token"])
    assert ping.status == 200
    assert private_fakes.sandbox.request_counts("hmpps-auth")["POST /auth/sandbox/token"] == 1


async def test_sandbox_client_token_and_bad_input(private_fakes: FakeClient) -> None:
    reply = await private_fakes.post(
        "hmpps-auth", "/auth/sandbox/token", json={"clientId": "other", "roles": ["X"]}, token=None
    )
    claims = jwt.decode(reply.json()["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "other"
    assert "user_name" not in claims
    for bad in (
        {"username": "A", "roles": "ROLE_X"},
        {"username": 5},
        {"username": "A", "expiresIn": "1"},
    ):
        reply = await private_fakes.post("hmpps-auth", "/auth/sandbox/token", json=bad, token=None)
        assert reply.status == 400, bad
        assert reply.json()["error"] == "invalid_request"


async def test_extra_jwks_keys_are_published(private_fakes: FakeClient) -> None:
    extra = {"kty": "RSA", "kid": "next", "use": "sig", "alg": "RS256", "e": "AQAB", "n": "AQAB"}
    private_fakes.sandbox.auth.extra_jwks.append(extra)
    try:
        keys = (await private_fakes.get("hmpps-auth", "/auth/.well-known/jwks.json")).json()["keys"]
        assert [k["kid"] for k in keys] == ["sandbox-2026", "next"]
    finally:
        private_fakes.sandbox.auth.extra_jwks.clear()
