"""The domain exception tree.

Every failure the service knows about is one of these. The tree keeps three
families apart because callers treat them differently:

    AllocationApiError
    ├── DomainError              expected, caused by the caller's input or the data;
    │   │                        mutations turn these into payload union members
    │   ├── ValidationFailed       bad input (code e.g. INVALID_OFFENDER_NO)
    │   ├── NotFound               unknown prisoner / POM / prison
    │   ├── NotAllowed             a rule forbids it (POM inactive, no tier, ...)
    │   └── Conflict               stale expectedVersion, concurrent change
    ├── UpstreamError            an upstream NOMIS API could not give us facts
    │   ├── UpstreamUnavailable    transport failure or circuit open
    │   ├── UpstreamTimeout        no complete answer in time
    │   └── UpstreamRejected       an HTTP error status or an unreadable body
    │       └── UpstreamNotFound   404 from a lookup by key
    ├── StoreUnavailable         the owned Postgres cannot be reached
    └── AuthError                the caller is not who or what they must be
        ├── Unauthenticated        missing / invalid / expired token (HTTP 401)
        └── Forbidden              valid token, not allowed (GraphQL error)

Transport errors and rejected responses are siblings (as in httpx), so code
that retries can tell "try again" from "the answer was no". aiohttp and
asyncpg exception types never leave `upstream/` and `store/`.
"""

from __future__ import annotations


class AllocationApiError(Exception):
    """Root of every error this service raises on purpose."""

    code = "INTERNAL"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class DomainError(AllocationApiError):
    """An expected failure: reported to the caller as a typed payload member."""


class ValidationFailed(DomainError):
    """The input is malformed or out of range; `field` names the input field."""

    code = "VALIDATION_FAILED"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message, code=code)
        self.field = field


class NotFound(DomainError):
    """The thing named by the input does not exist (here or upstream)."""

    code = "NOT_FOUND"


class NotAllowed(DomainError):
    """The input is well formed but a prison rule forbids the change."""

    code = "NOT_ALLOWED"


class Conflict(DomainError):
    """The allocation changed since the caller read it."""

    code = "CONFLICT"

    def __init__(
        self, message: str, *, code: str | None = None, current_version: int | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.current_version = current_version


class UpstreamError(AllocationApiError):
    """An upstream NOMIS API did not give a usable answer."""

    code = "UPSTREAM_UNAVAILABLE"

    def __init__(self, message: str, *, upstream: str, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.upstream = upstream


class UpstreamUnavailable(UpstreamError):
    """Connection refused/reset, DNS failure, or the circuit breaker is open."""

    code = "UPSTREAM_UNAVAILABLE"


class UpstreamTimeout(UpstreamError):
    """The upstream did not answer completely within the configured timeout."""

    code = "UPSTREAM_TIMEOUT"


class UpstreamRejected(UpstreamError):
    """The upstream answered with an error status or a body we cannot read."""

    code = "UPSTREAM_REJECTED"

    def __init__(
        self,
        message: str,
        *,
        upstream: str,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, upstream=upstream, code=code)
        self.status = status


class UpstreamNotFound(UpstreamRejected):
    """404 for a lookup by key: the thing does not exist upstream."""


class StoreUnavailable(AllocationApiError):
    """The owned Postgres could not be reached or the connection dropped."""

    code = "STORE_UNAVAILABLE"


class AuthError(AllocationApiError):
    """Base for authentication and authorisation failures."""


class Unauthenticated(AuthError):
    """No token, or a token that fails verification: HTTP 401."""

    code = "UNAUTHENTICATED"


class Forbidden(AuthError):
    """A verified caller asked for something its roles or caseloads do not cover."""

    code = "FORBIDDEN"


class ConfigurationError(AllocationApiError):
    """A required setting is missing or inconsistent (refuse to start)."""

    code = "CONFIGURATION"
