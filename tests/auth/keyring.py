"""Extra RSA keys, their JWKS entries, and tokens signed with them.

The sandbox signs with its one generated key; forged tokens, rotated keys
and refused keys need others, generated here once per test session.
"""

from __future__ import annotations

import base64
import functools
import time
import uuid
from collections.abc import Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa


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
