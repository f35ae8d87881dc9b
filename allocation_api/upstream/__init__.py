"""Typed, read-only, resilient clients for the upstream NOMIS APIs.

Open everything with `Upstreams.open(settings)` in the app's lifespan; bind
`retry_budget(settings.upstream_retry_budget)` around each GraphQL request.
Only `allocation_api.errors` exceptions and `models` types leave this package.
"""

from allocation_api.upstream.breaker import BreakerState, CircuitBreaker, CircuitOpen
from allocation_api.upstream.container import Upstreams
from allocation_api.upstream.http import (
    HMPPS_AUTH,
    NOMIS_USER_ROLES,
    PRISON_API,
    PRISONER_SEARCH,
    READ_ONLY_POSTS,
    UpstreamHttp,
    UpstreamWriteRefused,
)
from allocation_api.upstream.nomis_user_roles import NomisUserRolesClient
from allocation_api.upstream.prison_api import PrisonApiClient
from allocation_api.upstream.prisoner_search import PrisonerSearchClient
from allocation_api.upstream.retry import RetryBudget, current_retry_budget, retry_budget
from allocation_api.upstream.token import ClientCredentialsTokenProvider

__all__ = [
    "HMPPS_AUTH",
    "NOMIS_USER_ROLES",
    "PRISONER_SEARCH",
    "PRISON_API",
    "READ_ONLY_POSTS",
    "BreakerState",
    "CircuitBreaker",
    "CircuitOpen",
    "ClientCredentialsTokenProvider",
    "NomisUserRolesClient",
    "PrisonApiClient",
    "PrisonerSearchClient",
    "RetryBudget",
    "UpstreamHttp",
    "UpstreamWriteRefused",
    "Upstreams",
    "current_retry_budget",
    "retry_budget",
]
