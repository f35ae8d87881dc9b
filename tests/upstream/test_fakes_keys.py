"""The sandbox signing key and HMPPS-shaped tokens."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from allocation_api.upstream.fakes.keys import (
    SANDBOX_KID,
    jwk_fingerprint,
    mint_token,
    sandbox_key_fingerprint,
    sandbox_public_jwk,
)

ISSUER = "http://127.0.0.1:9999/auth/issuer"


def _verify(token: str) -> dict[str, object]:
    key = jwt.PyJWK(sandbox_public_jwk()).key
    return jwt.decode(token, key, algorithms=["RS256"], issuer=ISSUER)


def test_user_token_has_the_hmpps_claims() -> None:
    token = mint_token(ISSUER, username="SPO_LEI", roles=["ALLOC_MGR", "ROLE_OTHER"])
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    assert header["kid"] == SANDBOX_KID
    claims = _verify(token)
    assert claims["sub"] == claims["user_name"] == "SPO_LEI"
    assert claims["authorities"] == ["ROLE_ALLOC_MGR", "ROLE_OTHER"]
    assert claims["scope"] == ["read", "write"]
    assert claims["auth_source"] == "nomis"
    assert claims["grant_type"] == "authorization_code"
    assert claims["client_id"] == "allocation-api-sandbox"
    assert claims["name"] == "Spo Lei"
    assert isinstance(claims["jti"], str)
    assert claims["iat"] == claims["nbf"]
    assert claims["exp"] == claims["iat"] + 1200


def test_client_token_has_no_user() -> None:
    claims = _verify(mint_token(ISSUER, roles=["VIEW_POM_ALLOCATIONS"], client_id="other-svc"))
    assert claims["sub"] == claims["client_id"] == "other-svc"
    assert "user_name" not in claims
    assert "name" not in claims
    assert claims["auth_source"] == "none"
    assert claims["grant_type"] == "client_credentials"


def test_extra_claims_and_headers_shape_broken_tokens() -> None:
    token = mint_token(
        ISSUER,
        username="X",
        extra_claims={"exp": None, "auth_source": "delius"},
        headers={"kid": "rotated"},
    )
    assert jwt.get_unverified_header(token)["kid"] == "rotated"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert "exp" not in claims
    assert claims["auth_source"] == "delius"


def test_expired_tokens_can_be_minted() -> None:
    token = mint_token(ISSUER, username="X", expires_in=-60)
    with pytest.raises(jwt.ExpiredSignatureError):
        _verify(token)
    assert jwt.decode(token, options={"verify_signature": False})["exp"] < time.time()


def test_fingerprint_identifies_the_sandbox_key_under_any_name() -> None:
    jwk = sandbox_public_jwk()
    assert jwk_fingerprint(jwk) == sandbox_key_fingerprint()
    assert jwk_fingerprint({**jwk, "kid": "prod-2026", "use": "sig"}) == sandbox_key_fingerprint()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    other_jwk = jwt.algorithms.RSAAlgorithm.to_jwk(other, as_dict=True)
    assert jwk_fingerprint(other_jwk) != sandbox_key_fingerprint()


def test_public_jwk_is_a_copy_with_the_jwks_fields() -> None:
    jwk = sandbox_public_jwk()
    assert {k: jwk[k] for k in ("kty", "use", "kid", "alg", "e")} == {
        "kty": "RSA",
        "use": "sig",
        "kid": SANDBOX_KID,
        "alg": "RS256",
        "e": "AQAB",
    }
    jwk["kid"] = "changed"
    assert sandbox_public_jwk()["kid"] == SANDBOX_KID
