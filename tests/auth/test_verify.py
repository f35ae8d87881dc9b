"""Token verification against the sandbox sign-in service's JWKS, served over real HTTP.

Every valid token is minted exactly as the sandbox sign-in service mints
them; every invalid one is a real signed (or deliberately broken) JWT.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from allocation_api.auth.errors import RejectReason, TokenRejected
from allocation_api.auth.identity import ROLE_ALLOC_MGR, ROLE_VIEW_POM_ALLOCATIONS
from allocation_api.auth.jwks import JwksCache
from allocation_api.auth.verify import MAX_TOKEN_CHARS, TokenVerifier
from allocation_api.errors import Unauthenticated
from allocation_api.sandbox.keys import SANDBOX_KID, mint_token, sandbox_private_key
from tests.auth.conftest import FakeClock
from tests.auth.keyring import claims, rsa_key, sign
from tests.auth.signin import SignIn


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64json(value: Any) -> str:
    return _b64(json.dumps(value).encode())


def _unsigned(header: dict[str, Any], payload: dict[str, Any], signature: str = "") -> str:
    return f"{_b64json(header)}.{_b64json(payload)}.{signature}"


@pytest.fixture
async def verifier(signin: SignIn, http: aiohttp.ClientSession) -> TokenVerifier:
    return TokenVerifier(JwksCache(signin.jwks_url, http), issuer=signin.issuer, cache_size=0)


async def _reason(verifier: TokenVerifier, token: str) -> RejectReason:
    with pytest.raises(TokenRejected) as caught:
        await verifier.verify(token)
    assert isinstance(caught.value, Unauthenticated)  # HTTP 401 for all of these
    assert caught.value.message
    return caught.value.reason


# --- tokens that must be accepted ------------------------------------------------


async def test_user_token_gives_the_user_identity(signin: SignIn, verifier: TokenVerifier) -> None:
    token = mint_token(signin.issuer, username="jsmith_gen", roles=["ALLOC_MGR"], name="Jo Smith")

    identity = await verifier.verify(token)

    assert identity.is_user
    assert identity.username == "JSMITH_GEN"
    assert identity.display_name == "Jo Smith"
    assert identity.roles == frozenset({ROLE_ALLOC_MGR})
    assert identity.auth_source == "nomis"
    assert identity.token_id


async def test_client_token_gives_a_client_identity(
    signin: SignIn, verifier: TokenVerifier
) -> None:
    token = mint_token(signin.issuer, roles=[ROLE_VIEW_POM_ALLOCATIONS], client_id="other-svc")

    identity = await verifier.verify(token)

    assert identity.is_client
    assert identity.subject == "other-svc"
    assert identity.client_id == "other-svc"
    assert identity.has_role(ROLE_VIEW_POM_ALLOCATIONS)


async def test_clock_skew_within_leeway_is_tolerated(
    signin: SignIn, verifier: TokenVerifier
) -> None:
    now = int(time.time())
    just_expired = mint_token(signin.issuer, username="a", expires_in=-5)
    early = mint_token(signin.issuer, username="b", extra_claims={"nbf": now + 10, "iat": now + 10})

    assert (await verifier.verify(just_expired)).username == "A"
    assert (await verifier.verify(early)).username == "B"


async def test_header_without_kid_uses_the_single_published_key(
    signin: SignIn, verifier: TokenVerifier
) -> None:
    token = sign(sandbox_private_key(), claims(signin.issuer), kid=None)

    assert (await verifier.verify(token)).username == "JSMITH_GEN"


# --- lifetime and issuer -----------------------------------------------------------


async def test_expired_token(signin: SignIn, verifier: TokenVerifier) -> None:
    token = mint_token(signin.issuer, username="a", expires_in=-120)

    assert await _reason(verifier, token) == RejectReason.EXPIRED


async def test_not_before_in_the_future(signin: SignIn, verifier: TokenVerifier) -> None:
    token = mint_token(signin.issuer, username="a", extra_claims={"nbf": int(time.time()) + 300})

    assert await _reason(verifier, token) == RejectReason.NOT_YET_VALID


async def test_issued_in_the_future(signin: SignIn, verifier: TokenVerifier) -> None:
    token = mint_token(signin.issuer, username="a", extra_claims={"iat": int(time.time()) + 300})

    assert await _reason(verifier, token) == RejectReason.NOT_YET_VALID


@pytest.mark.parametrize(
    "issuer_of",
    [
        lambda good: "https://sign-in.example.org/auth/issuer",
        lambda good: good + "/evil",
        lambda good: good[:-1],  # a prefix of the real issuer
        lambda good: good.upper(),
    ],
)
async def test_wrong_issuer(signin: SignIn, verifier: TokenVerifier, issuer_of: Any) -> None:
    token = mint_token(issuer_of(signin.issuer), username="a")

    assert await _reason(verifier, token) == RejectReason.WRONG_ISSUER


@pytest.mark.parametrize("claim", ["exp", "iss", "sub"])
async def test_missing_required_claim(signin: SignIn, verifier: TokenVerifier, claim: str) -> None:
    token = mint_token(signin.issuer, username="a", extra_claims={claim: None})

    assert await _reason(verifier, token) == RejectReason.MISSING_CLAIM


# --- keys and signatures ---------------------------------------------------------


async def test_unknown_kid(signin: SignIn, verifier: TokenVerifier) -> None:
    token = sign(rsa_key("stranger"), claims(signin.issuer), kid="not-published")

    assert await _reason(verifier, token) == RejectReason.UNKNOWN_KEY


async def test_forged_with_another_key_under_the_sandbox_kid(
    signin: SignIn, verifier: TokenVerifier
) -> None:
    token = sign(rsa_key("forger"), claims(signin.issuer), kid=SANDBOX_KID)

    assert await _reason(verifier, token) == RejectReason.BAD_SIGNATURE


async def test_payload_swapped_under_a_valid_signature(
    signin: SignIn, verifier: TokenVerifier
) -> None:
    header, _, signature = mint_token(signin.issuer, username="pom", roles=["POM"]).split(".")
    escalated = _b64json(claims(signin.issuer, authorities=["ROLE_ALLOC_MGR"]))

    tampered = f"{header}.{escalated}.{signature}"

    assert await _reason(verifier, tampered) == RejectReason.BAD_SIGNATURE


async def test_signature_removed(signin: SignIn, verifier: TokenVerifier) -> None:
    header, payload, _ = mint_token(signin.issuer, username="a").split(".")

    assert await _reason(verifier, f"{header}.{payload}.") == RejectReason.BAD_SIGNATURE


async def test_alg_none(signin: SignIn, verifier: TokenVerifier) -> None:
    token = _unsigned({"alg": "none", "typ": "JWT", "kid": SANDBOX_KID}, claims(signin.issuer))

    assert await _reason(verifier, token) == RejectReason.UNSUPPORTED_ALGORITHM


async def test_hs256_keyed_with_the_public_key(signin: SignIn, verifier: TokenVerifier) -> None:
    """The classic algorithm-confusion attack: HMAC with the published RSA key as secret."""
    public_key: RSAPublicKey = sandbox_private_key().public_key()
    secret = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = (
        f"{_b64json({'alg': 'HS256', 'typ': 'JWT', 'kid': SANDBOX_KID})}."
        f"{_b64json(claims(signin.issuer))}"
    )
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()

    token = f"{signing_input}.{_b64(mac)}"

    assert await _reason(verifier, token) == RejectReason.UNSUPPORTED_ALGORITHM


@pytest.mark.parametrize("algorithm", ["RS512", "RS384", "PS256"])
async def test_rsa_algorithms_outside_the_allow_list(
    signin: SignIn, verifier: TokenVerifier, algorithm: str
) -> None:
    token = sign(sandbox_private_key(), claims(signin.issuer), kid=SANDBOX_KID, algorithm=algorithm)

    assert await _reason(verifier, token) == RejectReason.UNSUPPORTED_ALGORITHM


# --- malformed tokens ------------------------------------------------------------


def _rs256(header: dict[str, Any], payload: dict[str, Any]) -> str:
    """Sign by hand, for headers PyJWT itself refuses to produce."""
    signing_input = f"{_b64json(header)}.{_b64json(payload)}"
    signature = sandbox_private_key().sign(
        signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    return f"{signing_input}.{_b64(signature)}"


def _signed_payload(raw: bytes) -> str:
    """A correctly RS256-signed JWS whose payload is not a JSON object."""
    return jwt.api_jws.encode(
        raw, sandbox_private_key(), algorithm="RS256", headers={"kid": SANDBOX_KID}
    )


MALFORMED_TOKENS: dict[str, Any] = {
    "empty": lambda issuer: "",
    "garbage": lambda issuer: "garbage",
    "two parts": lambda issuer: "abc.def",
    "four parts": lambda issuer: "a.b.c.d",
    "not base64": lambda issuer: "!!!.@@@.###",
    "not ascii": lambda issuer: "é.é.é",
    "lone surrogate": lambda issuer: "\ud800.a.b",
    "header not json": lambda issuer: f"{_b64(b'{not json')}.{_b64json({})}.sig",
    "header a list": lambda issuer: f"{_b64json(['RS256'])}.{_b64json({})}.sig",
    "kid not a string": lambda issuer: _rs256({"alg": "RS256", "kid": 7}, claims(issuer)),
    "payload not json": lambda issuer: _signed_payload(b"not json at all"),
    "payload a list": lambda issuer: _signed_payload(b"[1, 2]"),
    "exp not a number": lambda issuer: mint_token(
        issuer, username="a", extra_claims={"exp": "tomorrow"}
    ),
    "authorities not a list": lambda issuer: mint_token(
        issuer, username="a", extra_claims={"authorities": "ROLE_ALLOC_MGR"}
    ),
    "oversized": lambda issuer: "a" * (MAX_TOKEN_CHARS + 1),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_TOKENS))
async def test_malformed_tokens(signin: SignIn, verifier: TokenVerifier, case: str) -> None:
    token = MALFORMED_TOKENS[case](signin.issuer)

    assert await _reason(verifier, token) == RejectReason.MALFORMED


# --- the JWKS is fetched over HTTP, and sparingly ---------------------------------


async def test_unknown_kid_refresh_is_rate_limited_at_the_sign_in_service(
    signin: SignIn, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    verifier = TokenVerifier(
        JwksCache(signin.jwks_url, http, refresh_min_interval_s=30, clock=clock),
        issuer=signin.issuer,
    )
    before = signin.jwks_requests
    await verifier.verify(mint_token(signin.issuer, username="warm"))
    clock.advance(60)
    attacker = rsa_key("flood")

    async def attempt() -> RejectReason:
        token = sign(attacker, claims(signin.issuer), kid=str(uuid.uuid4()))
        return await _reason(verifier, token)

    reasons = await asyncio.gather(*(attempt() for _ in range(40)))

    assert set(reasons) == {RejectReason.UNKNOWN_KEY}
    assert signin.jwks_requests - before == 2  # initial load + one refresh


# --- the verification cache -------------------------------------------------------


class CountingJwks(JwksCache):
    """Counts how often the verifier needs a key, i.e. verifies a signature."""

    key_lookups = 0

    async def key_for(self, kid: str | None) -> RSAPublicKey:
        self.key_lookups += 1
        return await super().key_for(kid)


async def test_a_verified_token_is_not_reverified_on_the_next_request(
    signin: SignIn, http: aiohttp.ClientSession
) -> None:
    jwks = CountingJwks(signin.jwks_url, http)
    verifier = TokenVerifier(jwks, issuer=signin.issuer)
    token = mint_token(signin.issuer, username="a")

    first = await verifier.verify(token)
    again = await verifier.verify(token)
    other = await verifier.verify(mint_token(signin.issuer, username="b"))

    assert first == again
    assert other.username == "B"
    assert jwks.key_lookups == 2


async def test_the_cache_never_outlives_the_token(
    signin: SignIn, http: aiohttp.ClientSession
) -> None:
    verifier = TokenVerifier(JwksCache(signin.jwks_url, http), issuer=signin.issuer, leeway_s=0)
    token = mint_token(signin.issuer, username="a", expires_in=1)
    expires_at = jwt.decode(token, options={"verify_signature": False})["exp"]

    await verifier.verify(token)
    await asyncio.sleep(max(0.0, expires_at - time.time()) + 0.05)

    assert await _reason(verifier, token) == RejectReason.EXPIRED


async def test_rejected_tokens_are_not_cached(signin: SignIn, verifier: TokenVerifier) -> None:
    token = mint_token(signin.issuer, username="a", expires_in=-120)

    assert await _reason(verifier, token) == RejectReason.EXPIRED
    assert await _reason(verifier, token) == RejectReason.EXPIRED
