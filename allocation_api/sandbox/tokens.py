"""Bearer-token checking for the fake upstreams.

The fakes insist on a valid sandbox token so that tests prove the service
really fetches and sends one. Verifying RS256 costs tens of microseconds, so
verified tokens are remembered until they expire: under benchmark load the
check is one dict lookup. `revoke_all` lets a test force the service's
"refresh the token on 401" path.
"""

from __future__ import annotations

import time

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

_MAX_CACHED = 50_000


class TokenVerifier:
    """Accepts RS256 tokens signed by the sandbox's key for one issuer."""

    __slots__ = ("_accepted", "_key", "_revoked", "issuer")

    def __init__(self, issuer: str, public_key: RSAPublicKey) -> None:
        self.issuer = issuer
        self._key = public_key
        self._accepted: dict[str, float] = {}
        self._revoked: set[str] = set()

    def check(self, authorization: str | None) -> str | None:
        """None if the `Authorization` header carries a valid token, else why not."""
        if not authorization or not authorization.startswith(("Bearer ", "bearer ")):
            return "Full authentication is required to access this resource"
        token = authorization[7:].strip()
        now = time.time()
        expires = self._accepted.get(token)
        if expires is not None and now < expires:
            return None
        if token in self._revoked:
            return "Token has been revoked"
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=["RS256"],
                issuer=self.issuer,
                options={"require": ["exp", "iss"], "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            return f"Invalid token: {exc}"
        if len(self._accepted) >= _MAX_CACHED:
            self._accepted = {t: e for t, e in self._accepted.items() if e > now}
            if len(self._accepted) >= _MAX_CACHED:
                self._accepted.clear()
        self._accepted[token] = float(claims["exp"])
        return None

    def revoke_all(self) -> None:
        """Reject every token accepted so far (newly minted ones still pass)."""
        self._revoked.update(self._accepted)
        self._accepted.clear()
