"""Tokens at the HTTP boundary: every bad token gets 401 + `WWW-Authenticate: Bearer`.

Each token is real: signed by the sandbox key through `keys.mint_token`, by
a key of our own, or built byte by byte for the attacks PyJWT will not
build. The query would call upstreams if it ran, so "nothing ran" is
checked on the sandbox's request counts as well as on the status.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from allocation_api.upstream.fakes import Sandbox
from allocation_api.upstream.fakes.keys import SANDBOX_KID, mint_token
from tests.access.forge import (
    b64url,
    hs256_with_public_key,
    own_key,
    payload_of,
    sign_rs256,
    unsigned,
    user_claims,
    with_payload,
)
from tests.access.helpers import data_requests
from tests.conftest import RunningApi

QUERY = {"query": '{ prison(code: "LEI") { name prisoners(first: 1) { totalCount } } }'}
USER = "ACCESS_TOKEN_SPO"
ROLES = ["ROLE_ALLOC_MGR"]


def _good(sandbox: Sandbox, **kwargs: object) -> str:
    return mint_token(sandbox.issuer, username=USER, roles=ROLES, **kwargs)  # type: ignore[arg-type]


def _claims(sandbox: Sandbox, **overrides: object) -> dict[str, object]:
    return user_claims(sandbox.issuer, USER, ROLES, **overrides)


# name -> Authorization header value, built from the running sandbox.
BAD_AUTHORIZATION: dict[str, Callable[[Sandbox], str | None]] = {
    "missing Authorization header": lambda s: None,
    "empty Authorization header": lambda s: "",
    "Bearer with no token": lambda s: "Bearer ",
    "Basic scheme": lambda s: "Basic QUNDRVNTOnNlY3JldA==",
    "valid token under the Token scheme": lambda s: f"Token {_good(s)}",
    "valid token with no scheme": lambda s: _good(s),
    "expired (exp 5 min ago, leeway 30 s)": lambda s: _good(s, expires_in=-300),
    "not yet valid (nbf in 1 h)": lambda s: _good(
        s, extra_claims={"nbf": int(time.time()) + 3600}
    ),
    "issued in the future (iat in 1 h)": lambda s: _good(
        s, extra_claims={"iat": int(time.time()) + 3600}
    ),
    "wrong issuer": lambda s: mint_token(
        "https://sign-in.example.org/auth/issuer", username=USER, roles=ROLES
    ),
    "no exp claim": lambda s: _good(s, extra_claims={"exp": None}),
    "no iss claim": lambda s: _good(s, extra_claims={"iss": None}),
    "no sub claim": lambda s: _good(s, extra_claims={"sub": None}),
    "authorities not a list": lambda s: _good(s, extra_claims={"authorities": "ROLE_ALLOC_MGR"}),
    "own RSA key with the sandbox kid": lambda s: sign_rs256(
        own_key(), _claims(s), kid=SANDBOX_KID
    ),
    "unknown kid (sandbox-signed)": lambda s: _good(s, headers={"kid": "sandbox-2099"}),
    "alg none": lambda s: unsigned(_claims(s), kid=SANDBOX_KID),
    "alg none, signature kept from a valid token": lambda s: (
        unsigned(_claims(s), kid=SANDBOX_KID) + _good(s).split(".")[2]
    ),
    "HS256 keyed with the sandbox public key": lambda s: hs256_with_public_key(
        _claims(s), kid=SANDBOX_KID
    ),
    "RS512 (not in the allow-list)": lambda s: _good(s, headers={"alg": "RS512"}),
    "payload tampered (roles raised)": lambda s: with_payload(
        mint_token(s.issuer, username=USER, roles=["ROLE_PRISON"]),
        {**payload_of(mint_token(s.issuer, username=USER)), "authorities": ROLES},
    ),
    "signature stripped": lambda s: _good(s).rsplit(".", 1)[0] + ".",
    "garbage": lambda s: "garbage",
    "two segments": lambda s: ".".join(_good(s).split(".")[:2]),
    "four segments": lambda s: _good(s) + ".e30",
    "bad base64 in every segment": lambda s: "!!!.@@@.###",
    "header not JSON": lambda s: f"{b64url(b'not json')}.{_good(s).split('.', 1)[1]}",
    "non-ASCII token": lambda s: "ëyJ.ëyJ.ëyJ",
    "oversized token (20 kB)": lambda s: "a" * 10_000 + "." + "b" * 10_000 + ".c",
}


@pytest.mark.parametrize("case", list(BAD_AUTHORIZATION))
async def test_bad_token_is_401_and_nothing_runs(
    api: RunningApi, sandbox: Sandbox, case: str
) -> None:
    authorization = BAD_AUTHORIZATION[case](sandbox)
    headers = {} if authorization is None else {"Authorization": authorization}
    before = data_requests(sandbox)
    # Encoded by hand: aiohttp refuses non-latin-1 header values, the server must still cope.
    if authorization is not None and not authorization.isascii():
        headers = {"Authorization": authorization.encode().decode("latin-1")}
    status, body = await api.post(QUERY, headers=headers)
    assert status == 401, (case, body)
    assert isinstance(body, dict), body
    assert "data" not in body, body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    assert "Traceback" not in str(body)
    assert data_requests(sandbox) == before, "a refused request reached an upstream"


async def test_challenge_header_on_every_401(api: RunningApi, sandbox: Sandbox) -> None:
    async with api.http.post(f"{api.url}/graphql", json=QUERY) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="allocation-api"'
    expired = _good(sandbox, expires_in=-300)
    async with api.http.post(
        f"{api.url}/graphql", json=QUERY, headers={"Authorization": f"Bearer {expired}"}
    ) as response:
        assert response.status == 401
        challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="allocation-api", error="invalid_token"')
    assert expired not in challenge


async def test_401_comes_before_any_other_check(api: RunningApi) -> None:
    """Content type, body size and JSON are looked at only once the caller is known."""
    for body, content_type in (
        (b"not json at all", "application/json"),
        (b"query=%7B__typename%7D", "application/x-www-form-urlencoded"),
        (b'{"query": "' + b"x" * 200_000 + b'"}', "application/json"),
    ):
        status, answer = await api.post(body, headers={"Content-Type": content_type})
        assert status == 401, answer


async def test_token_in_query_string_is_ignored(api: RunningApi, sandbox: Sandbox) -> None:
    async with api.http.post(
        f"{api.url}/graphql", params={"access_token": _good(sandbox)}, json=QUERY
    ) as response:
        assert response.status == 401


async def test_control_a_good_token_is_accepted(api: RunningApi, sandbox: Sandbox) -> None:
    """The same query with a valid token runs: the 401s above are about the tokens."""
    sandbox.data.set_user(USER, caseloads=["LEI"])
    status, body = await api.post(QUERY, headers={"Authorization": f"Bearer {_good(sandbox)}"})
    assert status == 200, body
    assert body["data"]["prison"]["name"]
    # A lower-case scheme is still Bearer (RFC 7235: schemes are case-insensitive).
    status, body = await api.post(QUERY, headers={"Authorization": f"bearer {_good(sandbox)}"})
    assert status == 200, body


@pytest.mark.parametrize(
    "path", ["/health/ping", "/health/liveness", "/health/readiness", "/health", "/metrics"]
)
async def test_operational_routes_need_no_token(api: RunningApi, path: str) -> None:
    async with api.http.get(f"{api.url}{path}") as response:
        assert response.status == 200, await response.text()


async def test_info_reveals_no_secrets(api: RunningApi) -> None:
    token = await api.token()
    async with api.http.get(f"{api.url}/info") as response:
        assert response.status == 200
        text = await response.text()
    settings = api.settings
    assert settings.client_secret is not None
    assert settings.database_url is not None
    secrets = {
        "client secret": settings.client_secret.get_secret_value(),
        "database URL": settings.database_url,
        "database scheme": "postgresql",
        "a token": token,
        "a JWT": "eyJ",
        "a password": "password",
    }
    for what, value in secrets.items():
        assert value.lower() not in text.lower(), f"/info shows {what}: {text}"
