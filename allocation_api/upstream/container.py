"""`Upstreams`: every upstream client, opened together and closed together.

The app's lifespan opens one `Upstreams` (inside the running loop, since
aiohttp sessions belong to a loop) and closes it on shutdown; request
contexts only borrow the clients. Each upstream gets its own session,
connection pool, breaker and timeouts, so one slow upstream cannot starve the
connections of another.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

from allocation_api.errors import ConfigurationError
from allocation_api.settings import Settings
from allocation_api.upstream.http import (
    HMPPS_AUTH,
    NOMIS_USER_ROLES,
    PRISON_API,
    PRISONER_SEARCH,
    UpstreamHttp,
)
from allocation_api.upstream.nomis_user_roles import NomisUserRolesClient
from allocation_api.upstream.prison_api import PrisonApiClient
from allocation_api.upstream.prisoner_search import PrisonerSearchClient
from allocation_api.upstream.token import ClientCredentialsTokenProvider

AUTH_PING_PATH = "/auth/health/ping"
"""The sign-in service lives under /auth, its ping too."""

_REQUIRED = (
    "hmpps_auth_url",
    "prisoner_search_url",
    "prison_api_url",
    "nomis_user_roles_url",
    "client_id",
    "client_secret",
)


class Upstreams:
    """The typed upstream clients plus the token provider they share."""

    def __init__(
        self,
        *,
        prisoner_search: PrisonerSearchClient,
        prison_api: PrisonApiClient,
        user_roles: NomisUserRolesClient,
        tokens: ClientCredentialsTokenProvider,
        auth_http: UpstreamHttp,
    ) -> None:
        self.prisoner_search = prisoner_search
        self.prison_api = prison_api
        self.user_roles = user_roles
        self.tokens = tokens
        self._auth_http = auth_http
        self._https: dict[str, UpstreamHttp] = {
            HMPPS_AUTH: auth_http,
            PRISONER_SEARCH: prisoner_search.http,
            PRISON_API: prison_api.http,
            NOMIS_USER_ROLES: user_roles.http,
        }

    @classmethod
    async def open(cls, settings: Settings) -> Upstreams:
        """Create the sessions and clients; raise ConfigurationError if settings are missing."""
        missing = [name for name in _REQUIRED if getattr(settings, name) in (None, "")]
        if settings.client_secret is not None and not settings.client_secret.get_secret_value():
            missing.append("client_secret")
        if missing:
            names = ", ".join(f"ALLOCATION_API_{name.upper()} ({name})" for name in missing)
            raise ConfigurationError(f"missing upstream setting(s): {names}")
        urls = {
            name: _checked_url(name, getattr(settings, name))
            for name in (
                "hmpps_auth_url",
                "prisoner_search_url",
                "prison_api_url",
                "nomis_user_roles_url",
            )
        }
        client_id, client_secret = settings.client_id, settings.client_secret
        if client_id is None or client_secret is None:  # pragma: no cover - checked above
            raise ConfigurationError("missing client credentials")
        auth_http = UpstreamHttp.from_settings(
            HMPPS_AUTH,
            urls["hmpps_auth_url"],
            settings,
            tokens=None,
            ping_path=AUTH_PING_PATH,
        )
        tokens = ClientCredentialsTokenProvider(
            auth_http, client_id=client_id, client_secret=client_secret
        )
        batch = settings.upstream_batch_size
        return cls(
            prisoner_search=PrisonerSearchClient(
                UpstreamHttp.from_settings(
                    PRISONER_SEARCH, urls["prisoner_search_url"], settings, tokens=tokens
                ),
                batch_size=batch,
            ),
            prison_api=PrisonApiClient(
                UpstreamHttp.from_settings(
                    PRISON_API, urls["prison_api_url"], settings, tokens=tokens
                ),
                batch_size=batch,
            ),
            user_roles=NomisUserRolesClient(
                UpstreamHttp.from_settings(
                    NOMIS_USER_ROLES, urls["nomis_user_roles_url"], settings, tokens=tokens
                )
            ),
            tokens=tokens,
            auth_http=auth_http,
        )

    async def close(self) -> None:
        """Stop any token fetch, then close every session (idempotent)."""
        await self.tokens.close()
        await asyncio.gather(*(http.close() for http in self._https.values()))

    async def __aenter__(self) -> Upstreams:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def http(self, upstream: str) -> UpstreamHttp:
        """The HTTP layer of one upstream by name (for diagnostics and tests)."""
        return self._https[upstream]

    def breakers(self) -> dict[str, str]:
        """Circuit breaker state per upstream name, for /health."""
        return {name: http.breaker_state for name, http in self._https.items()}

    async def pings(self) -> dict[str, bool]:
        """`GET /health/ping` of every upstream, concurrently, for /health."""
        names = list(self._https)
        results = await asyncio.gather(*(self._https[name].ping() for name in names))
        return dict(zip(names, results, strict=True))


def _checked_url(setting: str, value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"ALLOCATION_API_{setting.upper()} ({setting}) must be an http(s) URL"
        )
    return value
