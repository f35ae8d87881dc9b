"""Authentication failures specific to verifying sign-in service tokens.

Both classes sit under `allocation_api.errors.AuthError` so code that only
cares about "the caller could not be authenticated" can catch the base. They
are kept apart because the HTTP answer differs:

    AuthError
    ├── Unauthenticated            (errors.py) -> 401
    │   └── TokenRejected          the token itself is bad; `reason` says why -> 401
    └── JwksUnavailable            we hold no signing keys and cannot fetch any -> 503

A caller with a perfectly good token must not be told "401, your token is
bad" because the sign-in service blipped, hence the separate 503 class.
"""

from __future__ import annotations

import enum

from allocation_api.errors import AuthError, Unauthenticated


class RejectReason(enum.StrEnum):
    """Why a bearer token was refused; stable values for logs, metrics and tests."""

    MISSING = "missing"
    MALFORMED = "malformed"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    WRONG_ISSUER = "wrong_issuer"
    MISSING_CLAIM = "missing_claim"


class TokenRejected(Unauthenticated):
    """The bearer token failed verification (HTTP 401).

    `reason` is machine readable; the message is safe to show the caller
    (it never echoes the token or key material).
    """

    def __init__(self, reason: RejectReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class JwksUnavailable(AuthError):
    """No usable signing keys: the JWKS could not be fetched and none is cached (HTTP 503)."""

    code = "AUTH_UNAVAILABLE"
