"""The JWKS cache against the sandbox sign-in service: rotation, rate limits, outages, refused keys.

Time is a `FakeClock` handed to the cache, so "30 s later" costs nothing;
the HTTP is real, and what the sign-in service received is read from its
own request counts.
"""

from __future__ import annotations

import asyncio
import socket
import uuid

import aiohttp
import pytest

from allocation_api.auth.errors import JwksUnavailable, RejectReason, TokenRejected
from allocation_api.auth.jwks import JwksCache, jwk_thumbprint
from allocation_api.auth.verify import TokenVerifier
from allocation_api.errors import ConfigurationError
from allocation_api.sandbox import (
    SANDBOX_KID,
    Fault,
    jwk_fingerprint,
    mint_token,
    sandbox_key_fingerprint,
    sandbox_public_jwk,
)
from tests.auth.conftest import FakeClock
from tests.auth.keyring import claims, public_jwk, rsa_key, sign
from tests.auth.signin import JWKS_PATH, SignIn


def _cache(
    signin: SignIn,
    http: aiohttp.ClientSession,
    clock: FakeClock,
    *,
    refuse_sandbox_keys: bool = False,
    ttl_s: float = 3600,
    refresh_min_interval_s: float = 30,
) -> JwksCache:
    return JwksCache(
        signin.jwks_url,
        http,
        refresh_min_interval_s=refresh_min_interval_s,
        ttl_s=ttl_s,
        refuse_sandbox_keys=refuse_sandbox_keys,
        fetch_timeout_s=0.5,
        clock=clock,
    )


def _verifier(cache: JwksCache, signin: SignIn) -> TokenVerifier:
    return TokenVerifier(cache, issuer=signin.issuer, cache_size=0)


def test_thumbprint_matches_the_sandbox_fingerprint() -> None:
    other = public_jwk(rsa_key("thumbprint"), "x")

    assert jwk_thumbprint(sandbox_public_jwk()) == sandbox_key_fingerprint()
    assert jwk_thumbprint(other) == jwk_fingerprint(other)
    assert jwk_thumbprint(other) != sandbox_key_fingerprint()
    # kid, use and alg do not take part: a renamed key keeps its thumbprint.
    assert jwk_thumbprint({**sandbox_public_jwk(), "kid": "renamed"}) == sandbox_key_fingerprint()


@pytest.mark.parametrize("interval", [30, 0], ids=["rate-limited", "no-rate-limit"])
async def test_concurrent_cold_requests_share_one_fetch(
    signin: SignIn, http: aiohttp.ClientSession, clock: FakeClock, interval: float
) -> None:
    # Even with no rate limit at all, requests waiting on an in-flight fetch share it.
    verifier = _verifier(_cache(signin, http, clock, refresh_min_interval_s=interval), signin)
    tokens = [mint_token(signin.issuer, username=f"user{i}") for i in range(20)]

    identities = await asyncio.gather(*(verifier.verify(t) for t in tokens))

    assert {i.username for i in identities} == {f"USER{i}" for i in range(20)}
    assert signin.jwks_requests == 1


async def test_rotation_picks_up_a_new_key_on_an_unknown_kid(
    signin: SignIn, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    cache = _cache(signin, http, clock)
    verifier = _verifier(cache, signin)
    new_key = rsa_key("rotated")
    await verifier.verify(mint_token(signin.issuer, username="before"))

    # The sign-in service starts publishing a second key, then signs with it.
    signin.publish_extra([public_jwk(new_key, "hmpps-2027")])
    clock.advance(31)
    identity = await verifier.verify(sign(new_key, claims(signin.issuer), kid="hmpps-2027"))

    assert identity.username == "JSMITH_GEN"
    assert {k.kid for k in cache.keys} == {SANDBOX_KID, "hmpps-2027"}
    assert signin.jwks_requests == 2
    # The old key still verifies during the overlap.
    assert (await verifier.verify(mint_token(signin.issuer, username="old"))).is_user


async def test_retired_key_stops_verifying_after_the_ttl(
    signin: SignIn, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    old_key = rsa_key("retiring")
    signin.publish_extra([public_jwk(old_key, "hmpps-2025")])
    verifier = _verifier(_cache(signin, http, clock, ttl_s=600), signin)
    token = sign(old_key, claims(signin.issuer), kid="hmpps-2025")
    await verifier.verify(token)

    signin.publish_extra([])
    clock.advance(601)

    with pytest.raises(TokenRejected) as caught:
        await verifier.verify(token)
    assert caught.value.reason == RejectReason.UNKNOWN_KEY


async def test_unknown_kid_flood_refreshes_at_most_once_per_interval(
    signin: SignIn, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    verifier = _verifier(_cache(signin, http, clock), signin)
    attacker = rsa_key("attacker")

    def random_kid_token() -> str:
        return sign(attacker, claims(signin.issuer), kid=str(uuid.uuid4()))

    async def rejected_reason(token: str) -> RejectReason:
        with pytest.raises(TokenRejected) as caught:
            await verifier.verify(token)
        return caught.value.reason

    await verifier.verify(mint_token(signin.issuer, username="warm"))  # initial load
    clock.advance(60)  # long enough since the load that an unknown kid may refresh

    first_wave = await asyncio.gather(*(rejected_reason(random_kid_token()) for _ in range(25)))
    clock.advance(10)
    second_wave = [await rejected_reason(random_kid_token()) for _ in range(25)]
    requests_within_interval = signin.jwks_requests
    clock.advance(21)  # 31 s after the refresh
    await rejected_reason(random_kid_token())

    assert set(first_wave) == set(second_wave) == {RejectReason.UNKNOWN_KEY}
    # The initial load plus one refresh for the whole flood of 50 within 30 s ...
    assert requests_within_interval == 2
    # ... and one more once the interval has passed.
    assert signin.jwks_requests == 3


async def test_unknown_kid_right_after_a_fetch_does_not_refetch(
    signin: SignIn, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    verifier = _verifier(_cache(signin, http, clock), signin)
    token = sign(rsa_key("attacker"), claims(signin.issuer), kid="fresh-kid")

    with pytest.raises(TokenRejected):
        await verifier.verify(token)  # the cold load has just seen the current set

    assert signin.jwks_requests == 1


async def test_token_without_kid_is_refused_when_several_keys_are_published(
    signin: SignIn, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    key = rsa_key("one-of-two")
    signin.publish_extra([public_jwk(key, "b")])
    verifier = _verifier(_cache(signin, http, clock), signin)

    with pytest.raises(TokenRejected) as caught:
        await verifier.verify(sign(key, claims(signin.issuer), kid=None))

    assert caught.value.reason == RejectReason.UNKNOWN_KEY
    assert "no 'kid'" in caught.value.message


async def test_only_rs256_signing_keys_are_used(
    signin: SignIn, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    good = rsa_key("good")
    signin.publish_extra(
        [
            public_jwk(good, "good"),
            public_jwk(rsa_key("enc"), "enc", use="enc"),
            public_jwk(rsa_key("rs512"), "rs512", alg="RS512"),
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
            public_jwk(rsa_key("short", bits=1024), "short"),
            {"kty": "RSA", "kid": "broken", "n": "!!!", "e": "AQAB"},
            {"kty": "RSA", "kid": "no-modulus", "e": "AQAB"},
            {"kty": "RSA", "kid": 7, "n": public_jwk(good, None)["n"], "e": "AQAB"},
            "not an object",
            # Neither `use` nor `alg`: allowed, as the JWK spec makes both optional.
            {"kty": "RSA", "kid": "plain", "n": public_jwk(good, None)["n"], "e": "AQAB"},
        ]
    )
    cache = _cache(signin, http, clock)

    await cache.ensure_allowed()

    assert {k.kid for k in cache.keys} == {SANDBOX_KID, "good", "plain"}
    with pytest.raises(TokenRejected) as caught:
        await _verifier(cache, signin).verify(
            sign(rsa_key("enc"), claims(signin.issuer), kid="enc")
        )
    assert caught.value.reason == RejectReason.UNKNOWN_KEY


async def test_refused_key_fails_the_startup_check_and_never_verifies(
    signin: SignIn, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    real = rsa_key("real")
    # Beside a real key: the sandbox key again, under an innocent-looking kid.
    signin.publish_extra([{**sandbox_public_jwk(), "kid": "hmpps-2026"}, public_jwk(real, "real")])
    cache = _cache(signin, http, clock, refuse_sandbox_keys=True)
    verifier = _verifier(cache, signin)

    with pytest.raises(ConfigurationError) as caught:
        await cache.ensure_allowed()
    reasons = []
    for kid in (SANDBOX_KID, "hmpps-2026"):
        with pytest.raises(TokenRejected) as rejected:
            await verifier.verify(mint_token(signin.issuer, username="x", headers={"kid": kid}))
        reasons.append(rejected.value.reason)
    accepted = await verifier.verify(sign(real, claims(signin.issuer), kid="real"))

    assert sandbox_key_fingerprint() in caught.value.message
    assert reasons == [RejectReason.UNKNOWN_KEY, RejectReason.UNKNOWN_KEY]
    assert accepted.username == "JSMITH_GEN"
    assert {k.kid for k in cache.keys} == {"real"}


async def test_production_pointed_at_the_sandbox_refuses_everything(
    signin: SignIn, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    cache = _cache(signin, http, clock, refuse_sandbox_keys=True)

    with pytest.raises(ConfigurationError):
        await cache.ensure_allowed()
    with pytest.raises(JwksUnavailable):
        await _verifier(cache, signin).verify(mint_token(signin.issuer, username="x"))


async def test_ensure_allowed_passes_without_refused_keys(
    signin: SignIn, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    cache = _cache(signin, http, clock)

    await cache.ensure_allowed()

    assert [k.kid for k in cache.keys] == [SANDBOX_KID]


async def test_outage_keeps_serving_cached_keys(
    signin: SignIn, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    verifier = _verifier(_cache(signin, http, clock, ttl_s=60), signin)
    await verifier.verify(mint_token(signin.issuer, username="a"))

    signin.break_jwks(Fault(status=503, path=JWKS_PATH))
    clock.advance(120)  # the cached set is past its TTL: a refresh is attempted and fails
    identity = await verifier.verify(mint_token(signin.issuer, username="b"))

    assert identity.username == "B"
    assert signin.jwks_requests == 2


@pytest.mark.parametrize(
    "fault",
    [
        Fault(status=500, path=JWKS_PATH),
        Fault(mode="malformed", path=JWKS_PATH),
        Fault(mode="truncate", path=JWKS_PATH),
        Fault(mode="hang", path=JWKS_PATH),
    ],
    ids=["error", "malformed", "truncate", "hang"],
)
async def test_no_keys_at_all_is_unavailable_not_unauthenticated(
    fault: Fault, signin: SignIn, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    cache = _cache(signin, http, clock)
    verifier = _verifier(cache, signin)
    token = mint_token(signin.issuer, username="a")
    signin.break_jwks(fault)

    with pytest.raises(JwksUnavailable):
        await verifier.verify(token)
    with pytest.raises(JwksUnavailable):
        await cache.ensure_allowed()
    # Rate limited: both failures above cost the sign-in service one request.
    assert signin.jwks_requests == 1

    signin.mend_jwks()
    clock.advance(31)
    assert (await verifier.verify(token)).username == "A"


async def test_unreachable_sign_in_service_is_unavailable(
    signin: SignIn, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on that port any more.
    cache = JwksCache(f"http://127.0.0.1:{port}{JWKS_PATH}", http, clock=clock)

    with pytest.raises(JwksUnavailable):
        await TokenVerifier(cache, issuer=signin.issuer).verify(
            mint_token(signin.issuer, username="a")
        )
