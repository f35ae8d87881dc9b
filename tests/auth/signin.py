"""The sandbox sign-in service, seen from the token verifier's side."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from allocation_api.sandbox import Fault, Sandbox

UPSTREAM = "hmpps-auth"
JWKS_PATH = "/auth/.well-known/jwks.json"


class SignIn:
    """Where the JWKS is, the issuer, and the levers the tests pull: keys, faults, counts."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self.base_url = sandbox.urls[UPSTREAM]
        self.jwks_url = self.base_url + JWKS_PATH
        self.issuer = sandbox.issuer

    @property
    def jwks_requests(self) -> int:
        """JWKS requests the sign-in service received during this test."""
        return self._sandbox.request_counts(UPSTREAM).get("GET " + JWKS_PATH, 0)

    def publish_extra(self, keys: Sequence[Mapping[str, Any] | Any]) -> None:
        """Publish these entries after the sandbox key (as during a rotation), as given."""
        self._sandbox.auth.extra_jwks[:] = list(keys)

    def break_jwks(self, fault: Fault) -> None:
        """Make the JWKS endpoint misbehave (the fixture clears it after each test)."""
        self._sandbox.set_fault(UPSTREAM, fault)

    def mend_jwks(self) -> None:
        self._sandbox.clear_faults(UPSTREAM)
