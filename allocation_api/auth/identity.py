"""Who is calling: the verified facts of one access token.

An `Identity` is built only by the token verifier, from claims whose
signature, issuer and lifetime have been checked. It carries no caseloads:
those come from NOMIS user roles and are looked up per request by the caller
that needs them, so a token stays a pure statement by the sign-in service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ROLE_ALLOC_MGR = "ROLE_ALLOC_MGR"
"""SPO / Head of Offender Management: sees and allocates in their caseload prisons."""

ROLE_ALLOC_CASE_MGR = "ROLE_ALLOC_CASE_MGR"
"""A POM: sees their own cases only, cannot allocate."""

ROLE_VIEW_POM_ALLOCATIONS = "ROLE_VIEW_POM_ALLOCATIONS"
"""Other services (client credentials): read-only view of who the POM is."""

_ROLE_PREFIX = "ROLE_"


def normalise_role(role: str) -> str:
    """`ALLOC_MGR` and `ROLE_ALLOC_MGR` name the same role; tokens use the prefixed form."""
    return role if role.startswith(_ROLE_PREFIX) else _ROLE_PREFIX + role


@dataclass(frozen=True, slots=True)
class Identity:
    """A verified caller: a NOMIS user (has `username`) or a client service (has none)."""

    subject: str
    username: str | None
    display_name: str | None
    roles: frozenset[str]
    client_id: str | None
    auth_source: str | None
    token_id: str | None

    def __post_init__(self) -> None:
        # NOMIS usernames are upper case everywhere downstream (user roles API,
        # allocation audit columns), so normalise once here rather than at
        # every comparison.
        if self.username is not None and self.username != self.username.upper():
            object.__setattr__(self, "username", self.username.upper())
        if any(not r.startswith(_ROLE_PREFIX) for r in self.roles):
            object.__setattr__(self, "roles", frozenset(normalise_role(r) for r in self.roles))

    @property
    def is_user(self) -> bool:
        """A person signed in through NOMIS; their access is bounded by their caseloads."""
        return self.username is not None

    @property
    def is_client(self) -> bool:
        """A service using client credentials: no person, no caseloads."""
        return self.username is None

    def has_role(self, role: str) -> bool:
        """Whether the token grants `role` (given with or without the `ROLE_` prefix)."""
        return normalise_role(role) in self.roles


def identity_from_claims(claims: Mapping[str, Any]) -> Identity:
    """Map HMPPS Auth access-token claims onto an `Identity`.

    The claims must already be verified. Raises `ValueError` when a claim has
    the wrong shape (the verifier reports that as a malformed token).
    """
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise ValueError("'sub' must be a non-empty string")
    authorities = claims.get("authorities", [])
    if not isinstance(authorities, list) or not all(isinstance(a, str) for a in authorities):
        raise ValueError("'authorities' must be a list of strings")
    return Identity(
        subject=subject,
        username=_optional_str(claims, "user_name"),
        display_name=_optional_str(claims, "name"),
        roles=frozenset(authorities),
        client_id=_optional_str(claims, "client_id"),
        auth_source=_optional_str(claims, "auth_source"),
        token_id=_optional_str(claims, "jti"),
    )


def _optional_str(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"'{name}' must be a string")
    # An empty user_name would otherwise turn a client token into a "user".
    return value or None
