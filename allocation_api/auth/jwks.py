"""The sign-in service's public signing keys, fetched over HTTP and cached.

Why not `jwt.PyJWKClient`: it fetches with urllib, which would block the
event loop for the whole request to the sign-in service. This cache fetches
with the application's aiohttp session instead, and adds what a gateway on
the public side needs:

- single flight: concurrent requests that all miss share one fetch;
- rate limiting: after any fetch attempt the next one waits at least
  `refresh_min_interval_s`, so a flood of tokens with random `kid`s (or an
  outage of the sign-in service) cannot turn into a flood of JWKS requests;
- stale-if-error: a failed refresh keeps the keys already held, so a blip at
  the sign-in service never turns valid tokens into 401s;
- key rotation: every RSA signing key in the set is usable, chosen by `kid`;
- refused keys: production refuses every sandbox key, so that a
  misconfigured JWKS URL pointing at the sandbox can never authenticate
  anyone (`ensure_allowed` turns it into a start-up failure).

How production recognises a sandbox key without holding one: each machine's
sandbox generates its own RSA key on first use (never committed or packaged,
so there is no fingerprint to compare with), always with the public exponent
`SANDBOX_PUBLIC_EXPONENT`, the prime whose eight bytes spell "SANDBOX-" (in
a JWKS, `"e": "U0FOREJPWC0"`), and publishes it under a `kid` starting
`sandbox-`. The exponent is public and costs the key nothing in strength;
the key generators real sign-in services use (OpenSSL, Java's) choose 65537.
A key with either mark is refused; the exponent catches it under any other
`kid`, without one, or with zero-padded `n` and `e`, as it is compared as a
number.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey, RSAPublicNumbers

from allocation_api.auth.errors import JwksUnavailable, RejectReason, TokenRejected
from allocation_api.errors import ConfigurationError

log = logging.getLogger(__name__)

MIN_RSA_KEY_BITS = 2048
"""Shorter RSA keys are ignored: they are forgeable with today's means."""

SANDBOX_PUBLIC_EXPONENT = int.from_bytes(b"SANDBOX-", "big")
"""The public exponent of every sandbox signing key: a prime no real sign-in service uses."""

SANDBOX_KID_PREFIX = "sandbox-"
"""How the sandbox names its signing keys in its JWKS and token headers."""


def is_sandbox_key(kid: str | None, public_key: RSAPublicKey) -> bool:
    """Whether a published key is a sandbox key (by its exponent, or by its `kid`)."""
    if kid is not None and kid.startswith(SANDBOX_KID_PREFIX):
        return True
    return public_key.public_numbers().e == SANDBOX_PUBLIC_EXPONENT


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One usable public key from the JWKS."""

    kid: str | None
    public_key: RSAPublicKey
    fingerprint: str


class _FetchFailed(Exception):
    """The JWKS could not be fetched or read (kept inside this module)."""


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint (base64url, unpadded) of an RSA JWK.

    Only the required members `e`, `kty`, `n` take part, so renaming a key
    (`kid`) or relabelling it (`use`, `alg`) keeps its fingerprint.
    """
    canonical = json.dumps(
        {"e": jwk["e"], "kty": jwk["kty"], "n": jwk["n"]},
        separators=(",", ":"),
        sort_keys=True,
    ).encode("utf-8")
    digest = hashlib.sha256(canonical).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _b64url_uint(value: str) -> int:
    padded = value + "=" * (-len(value) % 4)
    return int.from_bytes(base64.urlsafe_b64decode(padded.encode("ascii")), "big")


def _b64url_min(value: int) -> str:
    """RFC 7518's encoding of an unsigned integer: big-endian, no leading zero bytes."""
    data = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _signing_key(entry: Mapping[str, Any]) -> SigningKey | None:
    """The entry as a usable key, or None when it is not an RS256 signing key."""
    if entry.get("kty") != "RSA":
        return None
    if entry.get("use", "sig") != "sig" or entry.get("alg", "RS256") != "RS256":
        return None
    kid, n, e = entry.get("kid"), entry.get("n"), entry.get("e")
    if not isinstance(n, str) or not isinstance(e, str):
        return None
    if kid is not None and not isinstance(kid, str):
        return None
    try:
        public_key = RSAPublicNumbers(_b64url_uint(e), _b64url_uint(n)).public_key()
    except (ValueError, binascii.Error, UnicodeEncodeError):
        return None
    if public_key.key_size < MIN_RSA_KEY_BITS:
        log.warning("JWKS key %r ignored: only %d bits", kid, public_key.key_size)
        return None
    # Thumbprint of the key itself, re-encoded canonically: `n` or `e` sent
    # with leading zero bytes is the same key and must not dodge the refusal.
    numbers = public_key.public_numbers()
    canonical = {"kty": "RSA", "e": _b64url_min(numbers.e), "n": _b64url_min(numbers.n)}
    return SigningKey(kid=kid, public_key=public_key, fingerprint=jwk_thumbprint(canonical))


class JwksCache:
    """Signing keys of the sign-in service, fetched lazily and kept fresh."""

    def __init__(
        self,
        jwks_url: str,
        session: aiohttp.ClientSession,
        *,
        refresh_min_interval_s: float = 30,
        ttl_s: float = 3600,
        refuse_sandbox_keys: bool = False,
        fetch_timeout_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = jwks_url
        self._session = session
        self._min_interval_s = refresh_min_interval_s
        self._ttl_s = ttl_s
        self._refuse_sandbox = refuse_sandbox_keys
        self._timeout = aiohttp.ClientTimeout(total=fetch_timeout_s)
        self._clock = clock
        self._lock = asyncio.Lock()
        self._keys: tuple[SigningKey, ...] = ()
        self._refused_served: dict[str, str] = {}  # fingerprint -> what it is
        self._loaded_at: float | None = None
        self._last_attempt: float | None = None
        self._attempts = 0
        self._finished = 0  # fetches completed (or failed): lets waiters share one fetch

    @property
    def keys(self) -> tuple[SigningKey, ...]:
        """The usable keys currently held (refused and non-signing keys excluded)."""
        return self._keys

    @property
    def fetch_attempts(self) -> int:
        """How many times the JWKS has been requested (for diagnostics and tests)."""
        return self._attempts

    async def ensure_allowed(self) -> None:
        """Fetch the JWKS if needed and refuse to run if it serves a refused key.

        Raises `ConfigurationError` when the sign-in service publishes a
        refused key (in production: any sandbox key; see the module docstring),
        and `JwksUnavailable` when no JWKS has ever been fetched successfully.
        """
        if self._loaded_at is None:
            await self._refresh()
        if self._loaded_at is None:
            raise JwksUnavailable(f"could not fetch signing keys from {self._url}")
        if self._refused_served:
            raise ConfigurationError(
                f"the sign-in service at {self._url} publishes a refused signing key "
                f"({'; '.join(v for _, v in sorted(self._refused_served.items()))}); "
                "production must not trust the sandbox key: check the sign-in service URL"
            )

    async def key_for(self, kid: str | None) -> RSAPublicKey:
        """The public key a token with header `kid` must be verified with.

        An unknown `kid` triggers one (rate-limited) refresh, since the
        sign-in service may have rotated keys since the last fetch. A token
        without `kid` is accepted only while exactly one key is published.
        Raises `TokenRejected(UNKNOWN_KEY)` or, holding no keys at all,
        `JwksUnavailable`.
        """
        if self._is_stale():
            await self._refresh()
        found = self._lookup(kid)
        if found is None:
            await self._refresh()
            found = self._lookup(kid)
        if found is not None:
            return found.public_key
        if not self._keys:
            raise JwksUnavailable("no signing keys of the sign-in service are available")
        if kid is None:
            raise TokenRejected(
                RejectReason.UNKNOWN_KEY,
                "token header has no 'kid' and the sign-in service publishes several keys",
            )
        raise TokenRejected(
            RejectReason.UNKNOWN_KEY,
            "token is signed with a key the sign-in service does not publish",
        )

    def _is_stale(self) -> bool:
        return self._loaded_at is None or self._clock() - self._loaded_at >= self._ttl_s

    def _lookup(self, kid: str | None) -> SigningKey | None:
        if kid is None:
            return self._keys[0] if len(self._keys) == 1 else None
        return next((k for k in self._keys if k.kid == kid), None)

    async def _refresh(self) -> None:
        """Fetch the JWKS unless another caller just did or the rate limit forbids it."""
        finished_seen = self._finished
        async with self._lock:
            if self._finished != finished_seen:
                return  # another request fetched while we waited: share its outcome
            now = self._clock()
            # Holding no keys at all, every request is refused (503) until a fetch
            # succeeds, so retry soon; with keys in hand, the full interval protects
            # the sign-in service from floods of made-up kids.
            interval = self._min_interval_s if self._keys else min(self._min_interval_s, 2.0)
            if self._last_attempt is not None and now - self._last_attempt < interval:
                return
            self._last_attempt = now
            self._attempts += 1
            try:
                document = await self._fetch()
                self._install(document)
            except _FetchFailed as error:
                if self._keys:
                    log.warning(
                        "JWKS refresh failed, keeping %d cached keys: %s", len(self._keys), error
                    )
                else:
                    log.error("JWKS fetch failed and no keys are cached: %s", error)
                return
            finally:
                self._finished += 1
            self._loaded_at = self._clock()

    async def _fetch(self) -> Any:
        try:
            async with self._session.get(
                self._url, timeout=self._timeout, headers={"Accept": "application/json"}
            ) as response:
                if response.status != 200:
                    raise _FetchFailed(f"GET {self._url} answered HTTP {response.status}")
                body = await response.read()
        except (aiohttp.ClientError, TimeoutError) as error:
            raise _FetchFailed(f"GET {self._url} failed: {error!r}") from error
        try:
            return json.loads(body)
        except ValueError as error:
            raise _FetchFailed(f"GET {self._url} returned a body that is not JSON") from error

    def _install(self, document: Any) -> None:
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise _FetchFailed(f"GET {self._url} returned JSON without a 'keys' list")
        usable: list[SigningKey] = []
        refused: dict[str, str] = {}
        for entry in document["keys"]:
            if not isinstance(entry, dict):
                continue
            key = _signing_key(entry)
            if key is None:
                continue
            if self._refuse_sandbox and is_sandbox_key(key.kid, key.public_key):
                refused[key.fingerprint] = (
                    f"a sandbox key, kid {key.kid!r}, fingerprint {key.fingerprint}"
                )
                continue
            usable.append(key)
        if refused:
            log.error(
                "JWKS at %s serves refused key(s) (%s); ignoring them",
                self._url,
                "; ".join(refused.values()),
            )
        self._keys = tuple(usable)
        self._refused_served = refused
