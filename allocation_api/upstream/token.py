"""Client-credentials tokens from the sign-in service (HMPPS Auth), cached and shared.

Every upstream call carries a bearer token, so fetching one per call would
double our traffic and hammer the sign-in service. The provider keeps the
current token until 60 s before it expires (early, so a token never expires
in flight) and makes concurrent callers share one fetch. `invalidate(token)`
drops a token an upstream refused with 401, but only if it is still the
current one: when N requests get 401 at once, the first invalidation wins and
the other N-1 reuse the token it fetched instead of refreshing N times.

Neither the client secret nor a token ever appears in a repr or a log line.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from pydantic import SecretStr, ValidationError

from allocation_api.errors import UpstreamRejected
from allocation_api.upstream.http import UpstreamHttp
from allocation_api.upstream.models import TokenResponse

log = logging.getLogger(__name__)

TOKEN_PATH: Final = "/auth/oauth/token"
EXPIRY_MARGIN_S: Final = 60.0
GRANT: Final = {"grant_type": "client_credentials"}


@dataclass(frozen=True, slots=True)
class _CachedToken:
    value: str = field(repr=False)
    refresh_at: float


class ClientCredentialsTokenProvider:
    """The service's own access token, fetched with HTTP Basic client credentials."""

    def __init__(
        self,
        http: UpstreamHttp,
        *,
        client_id: str,
        client_secret: SecretStr,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self.client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._cached: _CachedToken | None = None
        self._inflight: asyncio.Future[_CachedToken] | None = None
        self.fetches = 0
        """How many tokens were fetched so far (for tests and metrics)."""

    def __repr__(self) -> str:
        state = "cached" if self._current() is not None else "empty"
        return f"ClientCredentialsTokenProvider(client_id={self.client_id!r}, token={state})"

    async def token(self) -> str:
        """A valid access token: the cached one, or one fetch shared by all callers.

        The fetch runs as its own task and each caller awaits it shielded, so
        a caller that is cancelled does not cancel the fetch for the others,
        and a failed fetch fails every waiter once instead of being repeated
        by each of them in turn.
        """
        cached = self._current()
        if cached is not None:
            return cached
        if self._inflight is None:
            self._inflight = asyncio.ensure_future(self._fetch())
            self._inflight.add_done_callback(self._fetched)
        return (await asyncio.shield(self._inflight)).value

    async def close(self) -> None:
        """Cancel a fetch still in flight (on shutdown, before the sessions close)."""
        inflight = self._inflight
        if inflight is not None and not inflight.done():
            inflight.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await inflight

    def _fetched(self, task: asyncio.Future[_CachedToken]) -> None:
        self._inflight = None
        if task.cancelled():
            return
        if task.exception() is None:  # also marks a failure as retrieved
            self._cached = task.result()

    def invalidate(self, token: str) -> None:
        """Forget `token` (refused by an upstream) if it is still the current one."""
        if self._cached is not None and self._cached.value == token:
            self._cached = None

    def _current(self) -> str | None:
        cached = self._cached
        if cached is None or self._clock() >= cached.refresh_at:
            return None
        return cached.value

    async def _fetch(self) -> _CachedToken:
        credentials = f"{self.client_id}:{self._client_secret.get_secret_value()}"
        basic = "Basic " + base64.b64encode(credentials.encode("utf-8")).decode("ascii")
        body = await self._http.post_read_form(
            TOKEN_PATH,
            GRANT,
            # The real callers send the grant in the query string too; the
            # sign-in service accepts either.
            params=GRANT,
            headers={"Authorization": basic},
        )
        try:
            response = TokenResponse.model_validate(body)
        except ValidationError as exc:
            raise UpstreamRejected(
                f"{self._http.name}: token response is not a token",
                upstream=self._http.name,
            ) from exc
        self.fetches += 1
        log.info("fetched a client-credentials token (expires in %d s)", response.expires_in)
        return _CachedToken(response.access_token, self._refresh_at(response.expires_in))

    def _refresh_at(self, expires_in: int) -> float:
        # 60 s early, except that a short-lived token (sandbox tests) is still
        # used for the first half of its life rather than never cached at all.
        margin = min(EXPIRY_MARGIN_S, expires_in / 2)
        return self._clock() + expires_in - margin
