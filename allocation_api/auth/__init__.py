"""Caller authentication (HMPPS Auth JWTs) and the access policy.

`bearer_token` + `TokenVerifier` (over a `JwksCache`) turn a request's
Authorization header into an `Identity`; `policy` decides what it may do.
"""

from allocation_api.auth.errors import JwksUnavailable, RejectReason, TokenRejected
from allocation_api.auth.identity import (
    ROLE_ALLOC_CASE_MGR,
    ROLE_ALLOC_MGR,
    ROLE_VIEW_POM_ALLOCATIONS,
    Identity,
)
from allocation_api.auth.jwks import JwksCache, jwk_thumbprint
from allocation_api.auth.verify import TokenVerifier, bearer_token

__all__ = [
    "ROLE_ALLOC_CASE_MGR",
    "ROLE_ALLOC_MGR",
    "ROLE_VIEW_POM_ALLOCATIONS",
    "Identity",
    "JwksCache",
    "JwksUnavailable",
    "RejectReason",
    "TokenRejected",
    "TokenVerifier",
    "bearer_token",
    "jwk_thumbprint",
]
