"""Tokens at the HTTP boundary: every bad token gets 401 + `WWW-Authenticate: Bearer`.

Each token is real: signed by the sandbox key through `keys.mint_token`, by
a key of our own, or built byte by byte for the attacks PyJWT will not
build. The query would call upstreams if it ran, so "nothing ran" is
checked on the sandbox's request counts as well as on the status.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jwt
import pytest

from allocation_api.sandbox import Sandbox
from allocation_api.sandbox.keys import SANDBOX_KID, mint_token, sandbox_private_key
from tests.conftest import RunningApi
from tests.e2e.access.forge import (
    b64url,
    hs256_with_public_key,
    own_key,
    payload_of,
    sign_rs256,
    unsigned,
    user_claims,
    with_payload,
)
from tests.e2e.access.helpers import data_requests

QUERY = {"query": '{ prison(code: "LEI") { name prisoners(first: 1) { totalCount } } }'}
USER = "ACCESS_TOKEN_SPO"
ROLES = ["ROLE_ALLOC_MGR"]


def _good(sandbox: Sandbox, **kwargs: object) -> str:
    return mint_token(sandbox.issuer, username=USER, roles=ROLES, **kwargs)  # type: ignore[arg-type]


def _claims(sandbox: Sandbox, **overrides: object) -> dict[str, object]:
    return user_claims(sandbox.issuer, USER, ROLES, **overrides)


# name -> (Authorization header value, a fragment of the expected message).
BAD_HEADERS: dict[str, tuple[Callable[[Sandbox], str | None], str]] = {
    "missing Authorization header": (lambda s: None, "missing Authorization header"),
    "empty Authorization header": (lambda s: "", "missing Authorization header"),
    "Bearer with no token": (lambda s: "Bearer ", "empty bearer token"),
    "Basic scheme": (lambda s: "Basic QUNDRVNTOnNlY3JldA==", "must use the Bearer scheme"),
    "valid token under the Token scheme": (
        lambda s: f"Token {_good(s)}",
        "must use the Bearer scheme",
    ),
    "valid token with no scheme": (lambda s: _good(s), "must use the Bearer scheme"),
    "two tokens": (lambda s: f"Bearer {_good(s)} {_good(s)}", "must not contain spaces"),
}

# name -> (token sent as `Bearer <token>`, a fragment of the expected message).
BAD_TOKENS: dict[str, tuple[Callable[[Sandbox], str], str]] = {
    "expired (exp 5 min ago, leeway 30 s)": (
        lambda s: _good(s, expires_in=-300),
        "expired",
    ),
    "not yet valid (nbf in 1 h)": (
        lambda s: _good(s, extra_claims={"nbf": int(time.time()) + 3600}),
        "not yet valid",
    ),
    "issued in the future (iat in 1 h)": (
        lambda s: _good(s, extra_claims={"iat": int(time.time()) + 3600}),
        "not yet valid",
    ),
    "wrong issuer": (
        lambda s: mint_token("https://sign-in.example.org/auth/issuer", username=USER, roles=ROLES),
        "not issued by the configured sign-in service",
    ),
    "no exp claim": (lambda s: _good(s, extra_claims={"exp": None}), "no 'exp' claim"),
    "no iss claim": (lambda s: _good(s, extra_claims={"iss": None}), "no 'iss' claim"),
    "no sub claim": (lambda s: _good(s, extra_claims={"sub": None}), "no 'sub' claim"),
    "authorities not a list": (
        lambda s: _good(s, extra_claims={"authorities": "ROLE_ALLOC_MGR"}),
        "'authorities' must be a list",
    ),
    "own RSA key with the sandbox kid": (
        lambda s: sign_rs256(own_key(), _claims(s), kid=SANDBOX_KID),
        "signature is invalid",
    ),
    "unknown kid (sandbox-signed)": (
        lambda s: _good(s, headers={"kid": "sandbox-2099"}),
        "key the sign-in service does not publish",
    ),
    "alg none": (
        lambda s: unsigned(_claims(s), kid=SANDBOX_KID),
        "algorithm 'none' is not accepted",
    ),
    "alg none, signature kept from a valid token": (
        lambda s: unsigned(_claims(s), kid=SANDBOX_KID) + _good(s).split(".")[2],
        "algorithm 'none' is not accepted",
    ),
    "HS256 keyed with the sandbox public key": (
        lambda s: hs256_with_public_key(_claims(s), kid=SANDBOX_KID),
        "algorithm 'HS256' is not accepted",
    ),
    "RS512 signed by the sandbox key (not in the allow-list)": (
        lambda s: mint_token_rs512(s),
        "algorithm 'RS512' is not accepted",
    ),
    "payload tampered (roles raised)": (
        lambda s: with_payload(
            mint_token(s.issuer, username=USER, roles=["ROLE_PRISON"]),
            {**payload_of(mint_token(s.issuer, username=USER)), "authorities": ROLES},
        ),
        "signature is invalid",
    ),
    "signature stripped": (lambda s: _good(s).rsplit(".", 1)[0] + ".", "signature is invalid"),
    "garbage": (lambda s: "garbage", "not a well-formed JWT"),
    "two segments": (lambda s: ".".join(_good(s).split(".")[:2]), "not a well-formed JWT"),
    "four segments": (lambda s: _good(s) + ".e30", "not a well-formed JWT"),
    "bad base64 in every segment": (lambda s: "!!!.@@@.###", "not a well-formed JWT"),
    "header not JSON": (
        lambda s: f"{b64url(b'not json')}.{_good(s).split('.', 1)[1]}",
        "not a well-formed JWT",
    ),
    "non-ASCII token": (lambda s: "\u00ebyJ.\u00ebyJ.\u00ebyJ", "not a well-formed JWT"),
    "oversized token (20 kB)": (
        lambda s: "a" * 10_000 + "." + "b" * 10_000 + ".c",
        "not a well-formed JWT",
    ),
}


def mint_token_rs512(sandbox: Sandbox) -> str:
    return jwt.encode(
        _claims(sandbox),
        sandbox_private_key(),
        algorithm="RS512",
        headers={"kid": SANDBOX_KID, "typ": "JWT"},
    )


async def _assert_401(
    api: RunningApi, sandbox: Sandbox, authorization: str | None, fragment: str
) -> None:
    headers: dict[str, str] = {}
    if authorization is not None:
        # aiohttp sends header values as latin-1; the server must cope with any byte.
        headers["Authorization"] = authorization.encode().decode("latin-1")
    before = data_requests(sandbox)
    status, body = await api.post(QUERY, headers=headers)
    assert status == 401, body
    assert isinstance(body, dict), body
    assert "data" not in body, body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    assert fragment in body["errors"][0]["message"], body
    assert "Traceback" not in str(body)
    assert data_requests(sandbox) == before, "a refused request reached an upstream"


@pytest.mark.parametrize("case", list(BAD_HEADERS))
async def test_bad_authorization_header_is_401(
    api: RunningApi, sandbox: Sandbox, case: str
) -> None:
    make, fragment = BAD_HEADERS[case]
    await _assert_401(api, sandbox, make(sandbox), fragment)


@pytest.mark.parametrize("case", list(BAD_TOKENS))
async def test_bad_token_is_401_and_nothing_runs(
    api: RunningApi, sandbox: Sandbox, case: str
) -> None:
    make, fragment = BAD_TOKENS[case]
    await _assert_401(api, sandbox, f"Bearer {make(sandbox)}", fragment)


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
