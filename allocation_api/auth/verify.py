"""Verifying the bearer tokens that HMPPS Auth issues to our callers.

Every GraphQL request carries `Authorization: Bearer <JWT>`. The verifier
accepts a token only when all of these hold, and otherwise raises
`TokenRejected` (an `Unauthenticated`, HTTP 401) with a reason:

- it is a well-formed JWS whose header `alg` is in the allow-list (RS256 by
  default: `none`, HS256 keyed with our public key, RS512 ... are refused
  before any key is looked at, closing the algorithm-confusion attacks);
- its `kid` names a key the sign-in service publishes (see `JwksCache`);
- the RSA signature verifies with that key;
- `iss` equals the configured issuer exactly, `exp` is present and not past,
  `nbf` and `iat` are not in the future (each with `leeway_s` for clock skew);
- `sub` is present, and `authorities` is a list of role names.

`aud` is not checked: HMPPS Auth does not issue audience-bound tokens for
its APIs; the issuer and the signature are what bind the token.

Successful verifications are cached briefly, keyed by a hash of the token and
never past the token's `exp`, because the same token arrives on every
request of a page load and RSA verification is the hottest auth cost.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jwt
from cachetools import TTLCache

from allocation_api.auth.errors import RejectReason, TokenRejected
from allocation_api.auth.identity import Identity, identity_from_claims
from allocation_api.auth.jwks import JwksCache
from allocation_api.errors import ConfigurationError

MAX_TOKEN_CHARS = 16_384
"""Longer 'tokens' are refused unread: HMPPS tokens are a few kilobytes at most."""

_RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
_BEARER = "bearer"


@dataclass(frozen=True, slots=True)
class _Verified:
    identity: Identity
    expires_at: float  # the token's exp, epoch seconds


def _expiry(claims: dict[str, Any]) -> float | None:
    """The verified `exp` as epoch seconds; None (do not cache) if it is not a plain number."""
    try:
        return float(claims["exp"])
    except (TypeError, ValueError, OverflowError):
        return None


def bearer_token(authorization_header: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header value.

    Raises `TokenRejected` (an `Unauthenticated`) when the header is missing
    or empty, uses another scheme (Basic, Digest ...) or carries no token.
    The scheme is matched case-insensitively, as RFC 7235 requires.
    """
    if authorization_header is None or not authorization_header.strip():
        raise TokenRejected(
            RejectReason.MISSING,
            "missing Authorization header: send 'Authorization: Bearer <token>'",
        )
    scheme, _, token = authorization_header.strip().partition(" ")
    if scheme.lower() != _BEARER:
        raise TokenRejected(
            RejectReason.MALFORMED, "the Authorization header must use the Bearer scheme"
        )
    token = token.strip()
    if not token:
        raise TokenRejected(
            RejectReason.MISSING, "the Authorization header has an empty bearer token"
        )
    # str.split() splits on exactly what isspace() means, in C: ~100x faster than
    # a generator over a 1 KB token on every request.
    if len(token.split(maxsplit=1)) != 1:
        raise TokenRejected(RejectReason.MALFORMED, "the bearer token must not contain spaces")
    return token


class TokenVerifier:
    """Turns a bearer token into a verified `Identity`, or refuses it."""

    def __init__(
        self,
        jwks: JwksCache,
        *,
        issuer: str,
        leeway_s: int = 30,
        algorithms: Sequence[str] = ("RS256",),
        cache_size: int = 10_000,
        cache_ttl_s: float = 60.0,
    ) -> None:
        if not algorithms or not set(algorithms) <= _RSA_ALGORITHMS:
            # The sign-in service publishes RSA keys only; allowing anything
            # else (HS*, none) would reopen algorithm confusion.
            raise ConfigurationError(
                f"token algorithms must be a non-empty subset of {sorted(_RSA_ALGORITHMS)}"
            )
        if not issuer:
            raise ConfigurationError("the token issuer must be configured")
        self._jwks = jwks
        self._issuer = issuer
        self._leeway_s = leeway_s
        self._algorithms = tuple(algorithms)
        # cache_size 0 turns the cache off (every request verifies the RSA signature).
        self._cache: TTLCache[bytes, _Verified] | None = (
            TTLCache(maxsize=cache_size, ttl=cache_ttl_s) if cache_size > 0 else None
        )

    async def verify(self, token: str) -> Identity:
        """Verify `token` and return who it speaks for; raise `TokenRejected` if it is not valid.

        May also raise `JwksUnavailable` when no signing key can be obtained
        at all (the sign-in service is down and nothing is cached): that is
        our outage, not the caller's fault, and maps to 503.
        """
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
            raise TokenRejected(RejectReason.MALFORMED, "token is not a well-formed JWT")
        cache_key = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        cached = self._cache.get(cache_key) if self._cache is not None else None
        if cached is not None and cached.expires_at > time.time():
            return cached.identity

        kid = self._checked_header(token)
        key = await self._jwks.key_for(kid)
        claims = self._decode(token, key)
        try:
            identity = identity_from_claims(claims)
        except ValueError as error:
            raise TokenRejected(
                RejectReason.MALFORMED, f"token claims are malformed: {error}"
            ) from None
        expires_at = _expiry(claims)
        if self._cache is not None and expires_at is not None:
            self._cache[cache_key] = _Verified(identity, expires_at)
        return identity

    def _checked_header(self, token: str) -> str | None:
        """The header's `kid`, after refusing algorithms outside the allow-list."""
        if token.count(".") != 2:
            raise TokenRejected(RejectReason.MALFORMED, "token is not a well-formed JWT")
        try:
            header = jwt.get_unverified_header(token)
        except (jwt.InvalidTokenError, ValueError):  # ValueError: text that is not ASCII
            raise TokenRejected(RejectReason.MALFORMED, "token is not a well-formed JWT") from None
        alg = header.get("alg")
        if alg not in self._algorithms:
            shown = alg if isinstance(alg, str) and len(alg) <= 16 else "?"
            accepted = ", ".join(self._algorithms)
            raise TokenRejected(
                RejectReason.UNSUPPORTED_ALGORITHM,
                f"token algorithm '{shown}' is not accepted (accepted: {accepted})",
            )
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise TokenRejected(RejectReason.MALFORMED, "token header 'kid' must be a string")
        return kid

    def _decode(self, token: str, key: Any) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(self._algorithms),
                issuer=self._issuer,
                leeway=self._leeway_s,
                options={"require": ["exp", "iss", "sub"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected(RejectReason.EXPIRED, "token has expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected(
                RejectReason.NOT_YET_VALID, "token is not yet valid (nbf or iat is in the future)"
            ) from None
        except jwt.InvalidIssuerError:
            raise TokenRejected(
                RejectReason.WRONG_ISSUER, "token was not issued by the configured sign-in service"
            ) from None
        except jwt.MissingRequiredClaimError as error:
            raise TokenRejected(
                RejectReason.MISSING_CLAIM, f"token has no '{error.claim}' claim"
            ) from None
        except jwt.InvalidSignatureError:
            raise TokenRejected(RejectReason.BAD_SIGNATURE, "token signature is invalid") from None
        except jwt.InvalidAlgorithmError:
            raise TokenRejected(
                RejectReason.UNSUPPORTED_ALGORITHM, "token algorithm is not accepted"
            ) from None
        except jwt.InvalidTokenError as error:
            # DecodeError (bad base64/JSON, non-numeric exp/nbf), InvalidIssuedAtError, ...
            raise TokenRejected(RejectReason.MALFORMED, f"token is malformed: {error}") from None
        return claims
