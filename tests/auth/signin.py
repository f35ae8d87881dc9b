"""What the verification tests need to know about the sign-in service they talk to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class SignIn:
    """A running sign-in service: where its JWKS is, its issuer, and a JWKS request count."""

    jwks_url: str
    issuer: str
    jwks_requests: Callable[[], Awaitable[int]]
