"""Hand-made tokens: our own RSA key, unsigned and HMAC-confused JWTs.

The sandbox signs with its one generated key (`keys.mint_token`); everything
an attacker might send instead is built here, byte by byte where PyJWT would
refuse to build it (``alg: none``, HS256 keyed with the RSA public key).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from allocation_api.sandbox.keys import sandbox_private_key

OWN_KID = "access-tests-1"
"""The `kid` our own sign-in service publishes for `own_key()`."""


@functools.cache
def own_key() -> rsa.RSAPrivateKey:
    """An RSA-2048 key nobody else holds (generated once per session)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def _uint(value: int, pad: int = 0) -> str:
    return b64url(b"\x00" * pad + value.to_bytes((value.bit_length() + 7) // 8, "big"))


def public_jwk(key: rsa.RSAPrivateKey, kid: str, *, pad_modulus: int = 0) -> dict[str, str]:
    """A JWKS entry for `key`; `pad_modulus` prepends zero bytes to `n` (same key, other bytes)."""
    numbers = key.public_key().public_numbers()
    return {
        "kty": "RSA",
        "e": _uint(numbers.e),
        "use": "sig",
        "kid": kid,
        "alg": "RS256",
        "n": _uint(numbers.n, pad_modulus),
    }


def user_claims(issuer: str, username: str, roles: list[str], **overrides: Any) -> dict[str, Any]:
    """HMPPS-style user-token claims; an override of None removes the claim."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": username,
        "user_name": username,
        "name": username.replace("_", " ").title(),
        "authorities": roles,
        "scope": ["read", "write"],
        "client_id": "allocation-manager",
        "auth_source": "nomis",
        "grant_type": "authorization_code",
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": str(uuid.uuid4()),
    }
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def sign_rs256(key: rsa.RSAPrivateKey, claims: dict[str, Any], *, kid: str) -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})


def unsigned(claims: dict[str, Any], *, kid: str) -> str:
    """`alg: none` with an empty signature, exactly as the classic attack sends it."""
    header = {"alg": "none", "typ": "JWT", "kid": kid}
    return f"{_b64url_json(header)}.{_b64url_json(claims)}."


def sandbox_public_pem() -> bytes:
    return (
        sandbox_private_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def hs256_with_public_key(claims: dict[str, Any], *, kid: str) -> str:
    """HS256 keyed with the sandbox PUBLIC key (PEM): the algorithm-confusion attack."""
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    signing_input = f"{_b64url_json(header)}.{_b64url_json(claims)}"
    mac = hmac.new(sandbox_public_pem(), signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def with_payload(token: str, claims: dict[str, Any]) -> str:
    """`token`'s header and signature around another payload (a tampered token)."""
    header, _payload, signature = token.split(".")
    return f"{header}.{_b64url_json(claims)}.{signature}"


def payload_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def zero_padded(jwk: dict[str, str]) -> dict[str, str]:
    """The same RSA key with a leading zero byte in `n` and `e`: other bytes, same numbers."""
    padded = dict(jwk)
    for member in ("n", "e"):
        raw = base64.urlsafe_b64decode(jwk[member] + "=" * (-len(jwk[member]) % 4))
        padded[member] = b64url(b"\x00" + raw)
    return padded
