"""The sandbox signing key and a minting helper for HMPPS-style access tokens.

One fixed RSA-2048 key is committed beside this module
(`sandbox_signing_key.pem`). It is PUBLIC by construction: anyone can mint a
token with it. It exists so that the fake sign-in server, `allocation-api
token` and the test-suite all sign tokens the dev stack accepts without any
key exchange. Production mode must refuse it, which is why its fingerprint is
exposed here: `jwk_fingerprint(jwk) == sandbox_key_fingerprint()` tells a JWKS
key apart from the real sign-in service's keys.

Tokens are shaped like the ones HMPPS Auth issues (RS256 with a `kid`,
`authorities` as `ROLE_...`, `scope` as a list, `auth_source`, `grant_type`),
so the service's verifier is exercised against the real claim layout.
"""

from __future__ import annotations

import base64
import functools
import time
import uuid
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from allocation_api.auth.jwks import jwk_thumbprint

SANDBOX_KID = "sandbox-2026"
"""The `kid` header of every sandbox token and of the sandbox JWKS entry."""

SANDBOX_CLIENT_ID = "allocation-api-sandbox"
"""Default `client_id` claim of minted tokens."""

_PEM_NAME = "sandbox_signing_key.pem"
_PEM_MARKER = b"-----BEGIN PRIVATE KEY-----"


@functools.cache
def sandbox_private_key() -> RSAPrivateKey:
    """The sandbox RSA private key (loaded once; the PEM's comment preamble is skipped)."""
    raw = resources.files(__package__).joinpath(_PEM_NAME).read_bytes()
    pem = raw[raw.index(_PEM_MARKER) :]
    key = load_pem_private_key(pem, password=None)
    if not isinstance(key, RSAPrivateKey):  # pragma: no cover - the file is fixed
        raise TypeError("sandbox signing key is not an RSA key")
    return key


def _b64url_uint(value: int) -> str:
    data = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@functools.cache
def _public_jwk() -> dict[str, str]:
    numbers = sandbox_private_key().public_key().public_numbers()
    return {
        "kty": "RSA",
        "e": _b64url_uint(numbers.e),
        "use": "sig",
        "kid": SANDBOX_KID,
        "alg": "RS256",
        "n": _b64url_uint(numbers.n),
    }


def sandbox_public_jwk() -> dict[str, str]:
    """The public half as a JWKS entry, exactly as HMPPS Auth publishes its keys."""
    return dict(_public_jwk())


def jwk_fingerprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint of an RSA JWK: the same function production uses
    to refuse keys (`auth.jwks.jwk_thumbprint`), so the two can never disagree."""
    return jwk_thumbprint(jwk)


@functools.cache
def sandbox_key_fingerprint() -> str:
    """Thumbprint of the sandbox key, so production can refuse a JWKS that contains it."""
    return jwk_fingerprint(_public_jwk())


def mint_token(
    issuer: str,
    *,
    username: str | None = None,
    roles: Sequence[str] = (),
    client_id: str = SANDBOX_CLIENT_ID,
    name: str | None = None,
    expires_in: int = 1200,
    extra_claims: Mapping[str, Any] | None = None,
    headers: Mapping[str, Any] | None = None,
) -> str:
    """Sign an RS256 access token shaped like HMPPS Auth's.

    With `username` it is a user token (`user_name`, `auth_source` "nomis",
    grant "authorization_code"); without, a client-credentials token (`sub` =
    client id, `auth_source` "none"). Roles are given with or without the
    `ROLE_` prefix. `extra_claims` override or add claims, and a value of None
    removes that claim (to build malformed tokens in tests). `headers` are
    merged into the JOSE header (e.g. another `kid`). A negative `expires_in`
    yields an already expired token.
    """
    now = int(time.time())
    authorities = [r if r.startswith("ROLE_") else f"ROLE_{r}" for r in roles]
    claims: dict[str, Any] = {
        "sub": username if username is not None else client_id,
        "authorities": authorities,
        "scope": ["read", "write"],
        "client_id": client_id,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + expires_in,
        "jti": str(uuid.uuid4()),
    }
    if username is not None:
        claims["user_name"] = username
        claims["name"] = name if name is not None else username.replace("_", " ").title()
        claims["auth_source"] = "nomis"
        claims["grant_type"] = "authorization_code"
    else:
        if name is not None:
            claims["name"] = name
        claims["auth_source"] = "none"
        claims["grant_type"] = "client_credentials"
    for key, value in (extra_claims or {}).items():
        if value is None:
            claims.pop(key, None)
        else:
            claims[key] = value
    header: dict[str, Any] = {"kid": SANDBOX_KID, "typ": "JWT"}
    header.update(headers or {})
    return jwt.encode(claims, sandbox_private_key(), algorithm="RS256", headers=header)
