"""The JWKS cache against a real JWKS over HTTP: rotation, rate limits, outages, refused keys."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest

from allocation_api.auth.errors import JwksUnavailable, RejectReason, TokenRejected
from allocation_api.auth.jwks import JwksCache, jwk_thumbprint
from allocation_api.auth.verify import TokenVerifier
from allocation_api.errors import ConfigurationError
from allocation_api.upstream.fakes.keys import (
    SANDBOX_KID,
    jwk_fingerprint,
    mint_token,
    sandbox_key_fingerprint,
    sandbox_public_jwk,
)
from tests.auth.conftest import FakeClock
from tests.auth.keyring import JwksServer, claims, public_jwk, rsa_key, sign


def _issuer(server: JwksServer) -> str:
    return server.base_url + "/auth/issuer"


def _cache(
    server: JwksServer,
    http: aiohttp.ClientSession,
    clock: FakeClock,
    *,
    refused: frozenset[str] = frozenset(),
    ttl_s: float = 3600,
) -> JwksCache:
    return JwksCache(
        server.jwks_url,
        http,
        refresh_min_interval_s=30,
        ttl_s=ttl_s,
        refused_fingerprints=refused,
        fetch_timeout_s=2,
        clock=clock,
    )


def _verifier(cache: JwksCache, server: JwksServer) -> TokenVerifier:
    return TokenVerifier(cache, issuer=_issuer(server), cache_size=0)


def test_thumbprint_matches_the_sandbox_fingerprint() -> None:
    other = public_jwk(rsa_key("thumbprint"), "x")

    assert jwk_thumbprint(sandbox_public_jwk()) == sandbox_key_fingerprint()
    assert jwk_thumbprint(other) == jwk_fingerprint(other)
    assert jwk_thumbprint(other) != sandbox_key_fingerprint()
    # kid, use and alg do not take part: a renamed key keeps its thumbprint.
    assert jwk_thumbprint({**sandbox_public_jwk(), "kid": "renamed"}) == sandbox_key_fingerprint()


async def test_concurrent_cold_requests_share_one_fetch(
    jwks_server: JwksServer, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    verifier = _verifier(_cache(jwks_server, http, clock), jwks_server)
    tokens = [mint_token(_issuer(jwks_server), username=f"user{i}") for i in range(20)]

    identities = await asyncio.gather(*(verifier.verify(t) for t in tokens))

    assert {i.username for i in identities} == {f"USER{i}" for i in range(20)}
    assert jwks_server.jwks_requests == 1


async def test_rotation_picks_up_a_new_key_on_an_unknown_kid(
    jwks_server: JwksServer, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    cache = _cache(jwks_server, http, clock)
    verifier = _verifier(cache, jwks_server)
    new_key = rsa_key("rotated")
    await verifier.verify(mint_token(_issuer(jwks_server), username="before"))

    # The sign-in service starts publishing a second key, then signs with it.
    jwks_server.publish([sandbox_public_jwk(), public_jwk(new_key, "hmpps-2027")])
    clock.advance(31)
    token = sign(new_key, claims(_issuer(jwks_server)), kid="hmpps-2027")
    identity = await verifier.verify(token)

    assert identity.username == "JSMITH_GEN"
    assert {k.kid for k in cache.keys} == {SANDBOX_KID, "hmpps-2027"}
    assert jwks_server.jwks_requests == 2
    # The old key still verifies during the overlap.
    assert (await verifier.verify(mint_token(_issuer(jwks_server), username="old"))).is_user


async def test_unknown_kid_flood_refreshes_at_most_once_per_interval(
    jwks_server: JwksServer, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    verifier = _verifier(_cache(jwks_server, http, clock), jwks_server)
    attacker = rsa_key("attacker")

    def random_kid_token() -> str:
        return sign(attacker, claims(_issuer(jwks_server)), kid=str(uuid.uuid4()))

    async def rejected_reason(token: str) -> RejectReason:
        with pytest.raises(TokenRejected) as caught:
            await verifier.verify(token)
        return caught.value.reason

    await verifier.verify(mint_token(_issuer(jwks_server), username="warm"))  # initial load
    clock.advance(60)  # long enough since the load that an unknown kid may refresh

    first_wave = await asyncio.gather(*(rejected_reason(random_kid_token()) for _ in range(25)))
    clock.advance(10)
    second_wave = [await rejected_reason(random_kid_token()) for _ in range(25)]
    requests_within_interval = jwks_server.jwks_requests
    clock.advance(21)  # 31 s after the refresh
    await rejected_reason(random_kid_token())

    assert set(first_wave) == set(second_wave) == {RejectReason.UNKNOWN_KEY}
    # The initial load plus one refresh for the whole flood of 50 within 30 s ...
    assert requests_within_interval == 2
    # ... and one more once the interval has passed.
    assert jwks_server.jwks_requests == 3


async def test_unknown_kid_right_after_a_fetch_does_not_refetch(
    jwks_server: JwksServer, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    verifier = _verifier(_cache(jwks_server, http, clock), jwks_server)
    token = sign(rsa_key("attacker"), claims(_issuer(jwks_server)), kid="fresh-kid")

    with pytest.raises(TokenRejected):
        await verifier.verify(token)  # the cold load already saw the current set

    assert jwks_server.jwks_requests == 1


async def test_token_without_kid_uses_the_only_key(
    jwks_server: JwksServer, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    key = rsa_key("single")
    jwks_server.publish([public_jwk(key, None)])
    verifier = _verifier(_cache(jwks_server, http, clock), jwks_server)

    identity = await verifier.verify(sign(key, claims(_issuer(jwks_server)), kid=None))

    assert identity.username == "JSMITH_GEN"


async def test_token_without_kid_is_refused_when_several_keys_are_published(
    jwks_server: JwksServer, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    key = rsa_key("one-of-two")
    jwks_server.publish([public_jwk(key, "a"), public_jwk(rsa_key("other"), "b")])
    verifier = _verifier(_cache(jwks_server, http, clock), jwks_server)

    with pytest.raises(TokenRejected) as caught:
        await verifier.verify(sign(key, claims(_issuer(jwks_server)), kid=None))

    assert caught.value.reason == RejectReason.UNKNOWN_KEY
    assert "no 'kid'" in caught.value.message


async def test_only_rs256_signing_keys_are_used(
    jwks_server: JwksServer, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    good = rsa_key("good")
    jwks_server.publish(
        [
            public_jwk(good, "good"),
            public_jwk(rsa_key("enc"), "enc", use="enc"),
            public_jwk(rsa_key("rs512"), "rs512", alg="RS512"),
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
            public_jwk(rsa_key("short", bits=1024), "short"),
            {"kty": "RSA", "kid": "broken", "n": "!!!", "e": "AQAB"},
            {"kty": "RSA", "kid": "no-modulus", "e": "AQAB"},
            "not an object",
            {"kty": "RSA", "kid": "plain", "n": public_jwk(good, None)["n"], "e": "AQAB"},
        ]
    )
    cache = _cache(jwks_server, http, clock)

    await cache.ensure_allowed()

    # `plain` has neither `use` nor `alg`: allowed, as the JWK spec makes both optional.
    assert {k.kid for k in cache.keys} == {"good", "plain"}
    verifier = _verifier(cache, jwks_server)
    with pytest.raises(TokenRejected) as caught:
        await verifier.verify(sign(rsa_key("enc"), claims(_issuer(jwks_server)), kid="enc"))
    assert caught.value.reason == RejectReason.UNKNOWN_KEY


async def test_refused_key_fails_the_startup_check_and_never_verifies(
    jwks_server: JwksServer, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    real = rsa_key("real")
    # The sandbox key, published under an innocent-looking kid, beside a real key.
    disguised = {**sandbox_public_jwk(), "kid": "hmpps-2026"}
    jwks_server.publish([disguised, public_jwk(real, "real")])
    cache = _cache(jwks_server, http, clock, refused=frozenset({sandbox_key_fingerprint()}))
    verifier = _verifier(cache, jwks_server)

    with pytest.raises(ConfigurationError) as caught:
        await cache.ensure_allowed()
    with pytest.raises(TokenRejected) as rejected:
        await verifier.verify(
            mint_token(_issuer(jwks_server), username="x", headers={"kid": "hmpps-2026"})
        )
    accepted = await verifier.verify(sign(real, claims(_issuer(jwks_server)), kid="real"))

    assert sandbox_key_fingerprint() in caught.value.message
    assert rejected.value.reason == RejectReason.UNKNOWN_KEY
    assert accepted.username == "JSMITH_GEN"


async def test_ensure_allowed_passes_without_refused_keys(
    jwks_server: JwksServer, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    cache = _cache(jwks_server, http, clock, refused=frozenset({"some-other-fingerprint"}))

    await cache.ensure_allowed()

    assert [k.kid for k in cache.keys] == [SANDBOX_KID]


async def test_outage_keeps_serving_cached_keys(
    jwks_server: JwksServer, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    cache = _cache(jwks_server, http, clock, ttl_s=60)
    verifier = _verifier(cache, jwks_server)
    await verifier.verify(mint_token(_issuer(jwks_server), username="a"))

    jwks_server.status = 503
    clock.advance(120)  # the cached set is past its TTL: a refresh is attempted and fails
    identity = await verifier.verify(mint_token(_issuer(jwks_server), username="b"))

    assert identity.username == "B"
    assert jwks_server.jwks_requests == 2


@pytest.mark.parametrize("failure", ["status", "not json", "no keys"])
async def test_no_keys_at_all_is_unavailable_not_unauthenticated(
    failure: str, jwks_server: JwksServer, http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    if failure == "status":
        jwks_server.status = 500
    elif failure == "not json":
        jwks_server.body = b"<html>gateway timeout</html>"
    else:
        jwks_server.body = b'{"items": []}'
    cache = _cache(jwks_server, http, clock)
    verifier = _verifier(cache, jwks_server)
    token = mint_token(_issuer(jwks_server), username="a")

    with pytest.raises(JwksUnavailable):
        await verifier.verify(token)
    with pytest.raises(JwksUnavailable):
        await cache.ensure_allowed()
    # Rate limited: the failures above cost one request, not three.
    assert jwks_server.jwks_requests == 1

    jwks_server.publish([sandbox_public_jwk()])
    clock.advance(31)
    assert (await verifier.verify(token)).username == "A"


async def test_unreachable_sign_in_service_is_unavailable(
    http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    server = await JwksServer().start()
    url, issuer = server.jwks_url, server.base_url + "/auth/issuer"
    await server.close()  # nothing listens on that port any more
    cache = JwksCache(url, http, clock=clock, fetch_timeout_s=2)
    verifier = TokenVerifier(cache, issuer=issuer)

    with pytest.raises(JwksUnavailable):
        await verifier.verify(mint_token(issuer, username="a"))
