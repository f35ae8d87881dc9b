"""The HTTP layer under every typed upstream client: one `UpstreamHttp` per upstream.

It owns one aiohttp session for the app's lifetime and is the only place that
speaks aiohttp, so everything aiohttp can raise is translated here into the
`allocation_api.errors` tree, labelled with the upstream's name:

    connection refused / reset / DNS       -> UpstreamUnavailable
    connect or total timeout               -> UpstreamTimeout
    HTTP 404                               -> UpstreamNotFound (a lookup by key missed)
    any other status >= 300                -> UpstreamRejected(status=...)
    body that is truncated or not JSON     -> UpstreamRejected(status=<HTTP status>)
    breaker open                           -> CircuitOpen (an UpstreamUnavailable)

The allocation API never writes upstream, and this class makes that
structural: its public surface is `get_json`, `get_json_response`, and
`post_read_json` / `post_read_form`, which refuse any path outside
`READ_ONLY_POSTS` before sending. A trace hook also refuses any method other
than GET and POST at the session itself, as a second line of defence.

Each attempt of a call goes: bearer token -> circuit breaker -> one HTTP
request; a 401 invalidates that token and the request is sent once more with
a fresh one; the whole attempt is retried by `RetryPolicy` when the failure
is transient. Each attempt's timeout is the smaller of the upstream's own and
the time left before the request's deadline (`retry.request_deadline`).
Every HTTP request (each attempt) is counted for the current
GraphQL request by `allocation_api.calls.count_upstream()`, carries the W3C
`traceparent` of the trace it belongs to (`tracing.inject`), runs in a CLIENT
span while tracing is on (method, URL template, status, attempt), and is
reported to `observer` (the app's metrics: upstream, outcome, seconds).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Final, Literal, Protocol
from urllib.parse import urlencode

import aiohttp
import orjson
from multidict import CIMultiDict, CIMultiDictProxy

from allocation_api import tracing
from allocation_api.calls import count_upstream
from allocation_api.errors import (
    UpstreamError,
    UpstreamNotFound,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from allocation_api.settings import Settings
from allocation_api.upstream.breaker import BreakerState, CircuitBreaker
from allocation_api.upstream.retry import RetryPolicy, deadline_exceeded, is_retryable, time_left

log = logging.getLogger(__name__)

UpstreamName = Literal["prisoner-search", "prison-api", "nomis-user-roles", "hmpps-auth"]
PRISONER_SEARCH: Final = "prisoner-search"
PRISON_API: Final = "prison-api"
NOMIS_USER_ROLES: Final = "nomis-user-roles"
HMPPS_AUTH: Final = "hmpps-auth"

READ_ONLY_POSTS: Final[Mapping[str, frozenset[str]]] = {
    PRISONER_SEARCH: frozenset({"/prisoner-search/prisoner-numbers"}),
    PRISON_API: frozenset({"/api/staff", "/api/movements/offenders"}),
    NOMIS_USER_ROLES: frozenset(),
    HMPPS_AUTH: frozenset({"/auth/oauth/token"}),
}
"""The only POST endpoints we may call, per upstream: each is a read with a body."""

ALLOWED_METHODS: Final = frozenset({"GET", "POST"})
PING_PATH: Final = "/health/ping"
PING_TIMEOUT_S: Final = 2.0
_ERROR_DETAIL_CHARS = 200
_DEADLINE_SLACK_S = 0.05
"""A timeout this close to the request's deadline is the deadline's doing."""

Params = Mapping[str, str | int] | Sequence[tuple[str, str | int]]
Observer = Callable[[str, str, float], None]
"""Told (upstream, outcome, seconds) after each HTTP request; outcome is one of
ok, client_error, server_error, timeout, unavailable."""

_KEY_SEGMENT = re.compile(r"^(?=.*[0-9A-Z])[0-9A-Z_%.-]+$|.*[0-9]")


def url_template(path: str) -> str:
    """The path with its keys (segments with digits or in upper case: prisoner numbers,
    staff ids, prison codes, usernames) replaced by `{}`, for span names."""
    return "/".join("{}" if _KEY_SEGMENT.match(seg) else seg for seg in path.split("/"))


def outcome_of(error: BaseException) -> str:
    if isinstance(error, UpstreamTimeout):
        return "timeout"
    if isinstance(error, UpstreamRejected):
        status = error.status
        return "client_error" if status is not None and 400 <= status < 500 else "server_error"
    return "unavailable"


class UpstreamWriteRefused(RuntimeError):
    """A programming error: something tried to send a write to an upstream.

    Deliberately not an `UpstreamError`: nothing should catch it as an
    upstream hiccup and carry on.
    """


class TokenSource(Protocol):
    """What the HTTP layer needs from a token provider."""

    async def token(self) -> str: ...

    def invalidate(self, token: str) -> None: ...


@dataclass(frozen=True, slots=True)
class JsonResponse:
    """A decoded 2xx answer. `body` is None for 204 or an empty body; for a raw
    read (`get_json_bytes`) it is the undecoded bytes."""

    status: int
    body: Any
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class _Request:
    method: Literal["GET", "POST"]
    path: str
    params: Params | None
    headers: Mapping[str, str]
    data: bytes | None
    raw: bool = False
    """Leave the 2xx body undecoded (the caller validates the JSON bytes itself)."""


def is_breaker_failure(upstream: str) -> Callable[[BaseException], bool]:
    """Classify an outcome for `upstream`'s breaker: does it say the upstream is unwell?

    A 4xx is an answer (the upstream is fine, the question was not), and an
    error from another upstream (e.g. the sign-in service) is not this
    upstream's fault.
    """

    def failed(exc: BaseException) -> bool:
        if not isinstance(exc, UpstreamError) or exc.upstream != upstream:
            return False
        if isinstance(exc, UpstreamRejected) and exc.status is not None:
            return not 400 <= exc.status < 500
        return True

    return failed


async def _refuse_writes_and_count(
    session: aiohttp.ClientSession,
    context: SimpleNamespace,
    params: aiohttp.TraceRequestStartParams,
) -> None:
    if params.method.upper() not in ALLOWED_METHODS:
        raise UpstreamWriteRefused(f"refusing to send {params.method} {params.url.path}")
    count_upstream()


def _trace_config() -> aiohttp.TraceConfig:
    config = aiohttp.TraceConfig()
    config.on_request_start.append(_refuse_writes_and_count)
    return config


class UpstreamHttp:
    """Resilient JSON reads from one upstream over one long-lived aiohttp session.

    Construct inside the running event loop (the app's lifespan) and `close()`
    on shutdown.
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        tokens: TokenSource | None,
        connect_timeout_s: float,
        total_timeout_s: float,
        max_connections: int,
        retry: RetryPolicy,
        breaker: CircuitBreaker,
        ping_path: str = PING_PATH,
        ping_timeout_s: float = PING_TIMEOUT_S,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._tokens = tokens
        self._retry = retry
        self.breaker = breaker
        self._ping_path = ping_path
        self._ping_timeout = aiohttp.ClientTimeout(total=min(ping_timeout_s, total_timeout_s))
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max_connections),
            # sock_connect, not connect: waiting for a pooled connection is bounded by
            # the total timeout, only the TCP handshake by the connect timeout.
            timeout=aiohttp.ClientTimeout(total=total_timeout_s, sock_connect=connect_timeout_s),
            trace_configs=[_trace_config()],
            headers={"Accept": "application/json"},
            raise_for_status=False,
            trust_env=False,
        )
        self._is_failure = is_breaker_failure(name)
        self.observer: Observer | None = None

    @classmethod
    def from_settings(
        cls,
        name: str,
        base_url: str,
        settings: Settings,
        *,
        tokens: TokenSource | None,
        ping_path: str = PING_PATH,
    ) -> UpstreamHttp:
        """One upstream's HTTP layer configured from the service settings."""
        return cls(
            name,
            base_url,
            tokens=tokens,
            ping_path=ping_path,
            connect_timeout_s=settings.upstream_connect_timeout_s,
            total_timeout_s=settings.upstream_total_timeout_s,
            max_connections=settings.upstream_max_connections,
            retry=RetryPolicy(
                retries=settings.upstream_retries,
                default_budget=settings.upstream_retry_budget,
            ),
            breaker=CircuitBreaker(
                name,
                failure_threshold=settings.breaker_failure_threshold,
                reset_timeout_s=settings.breaker_reset_timeout_s,
            ),
        )

    def __repr__(self) -> str:
        return f"UpstreamHttp({self.name!r}, {self.base_url!r}, breaker={self.breaker.state!r})"

    @property
    def breaker_state(self) -> BreakerState:
        return self.breaker.state

    @property
    def closed(self) -> bool:
        return self._session.closed

    async def close(self) -> None:
        """Close the session and its connection pool (idempotent)."""
        await self._session.close()

    # --- the public, read-only surface -------------------------------------

    async def get_json(
        self,
        path: str,
        *,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> object:
        """GET `path` and return the decoded JSON body (None for 204 / empty), for the
        caller to validate."""
        return (await self.get_json_response(path, params=params, headers=headers)).body

    async def get_json_bytes(
        self,
        path: str,
        *,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> bytes | None:
        """GET `path` and return the JSON body undecoded (None for 204 / empty).

        For big bodies validated straight from bytes by pydantic (see
        `parsing.parse_json`), which is faster than decoding to Python objects
        and validating those. Errors and retries are those of `get_json`.
        """
        request = _Request(
            "GET", _checked_path(path), params, _json_headers(headers), None, raw=True
        )
        body: bytes | None = (await self._read(request)).body
        return body

    async def get_json_response(
        self,
        path: str,
        *,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> JsonResponse:
        """GET `path`, keeping the response headers (e.g. prison-api's Total-Records)."""
        request = _Request("GET", _checked_path(path), params, _json_headers(headers), None)
        return await self._read(request)

    async def post_read_json(
        self,
        path: str,
        body: Any,
        *,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> object:
        """POST a JSON body to a read-only endpoint in `READ_ONLY_POSTS` and decode the answer."""
        request = _Request(
            "POST",
            self._checked_read_post(path),
            params,
            _json_headers(headers),
            orjson.dumps(body),
        )
        return (await self._read(request)).body

    async def post_read_form(
        self,
        path: str,
        form: Mapping[str, str],
        *,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> object:
        """POST a form to a read-only endpoint (the token endpoint) and decode the answer."""
        all_headers = dict(headers or {})
        all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = _Request(
            "POST",
            self._checked_read_post(path),
            params,
            all_headers,
            urlencode(form).encode("ascii"),
        )
        return (await self._read(request)).body

    async def ping(self) -> bool:
        """True if `GET /health/ping` answers 2xx quickly.

        No token, no retries and not through the breaker: /health must report
        what the upstream says right now, even while the breaker is open.
        """
        try:
            async with self._session.get(
                self.base_url + self._ping_path,
                timeout=self._ping_timeout,
                allow_redirects=False,
            ) as response:
                await response.read()
                return 200 <= response.status < 300
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.info("ping %s failed: %s", self.name, type(exc).__name__)
            return False

    # --- machinery -----------------------------------------------------------

    def _checked_read_post(self, path: str) -> str:
        checked = _checked_path(path)
        if checked not in READ_ONLY_POSTS.get(self.name, frozenset()):
            raise UpstreamWriteRefused(
                f"{self.name}: POST {path} is not a known read-only endpoint"
            )
        return checked

    async def _read(self, request: _Request) -> JsonResponse:
        attempts = 0

        async def attempt() -> JsonResponse:
            nonlocal attempts
            attempts += 1
            return await self._attempt(request, attempts)

        return await self._retry.run(attempt, upstream=self.name, retryable=self._retryable)

    def _retryable(self, exc: BaseException) -> bool:
        # A failure of the sign-in service was already retried by its own
        # layer; and once this failure has opened the breaker, a retry would
        # only fail fast and hide the real error behind "circuit open".
        return (
            isinstance(exc, UpstreamError)
            and exc.upstream == self.name
            and is_retryable(exc)
            and self.breaker.state != "open"
        )

    async def _attempt(self, request: _Request, attempt: int) -> JsonResponse:
        """One attempt: with a bearer token, refreshed and resent once on 401."""
        if self._tokens is None:
            return await self._guarded(request, None, attempt)
        token = await self._tokens.token()
        try:
            return await self._guarded(request, token, attempt)
        except UpstreamRejected as exc:
            if exc.status != 401:
                raise
            log.info("%s answered 401: refreshing the token once", self.name)
        self._tokens.invalidate(token)
        return await self._guarded(request, await self._tokens.token(), attempt)

    async def _guarded(self, request: _Request, token: str | None, attempt: int) -> JsonResponse:
        def send() -> Awaitable[JsonResponse]:
            return self._send(request, token, attempt)

        return await self.breaker.call(send, is_failure=self._is_failure)

    async def _send(self, request: _Request, token: str | None, attempt: int) -> JsonResponse:
        """`_exchange`, observed: a span (while tracing is on) and the metrics."""
        observer = self.observer
        if observer is None and not tracing.enabled():
            return await self._exchange(request, token)
        started = time.perf_counter()
        template = url_template(request.path)
        with tracing.span(
            f"{request.method} {template}",
            {
                "http.request.method": request.method,
                "url.template": template,
                "server.address": self.base_url,
                "upstream": self.name,
                "http.request.resend_count": attempt - 1,
            },
            kind=tracing.SpanKind.CLIENT,
        ) as span:
            try:
                response = await self._exchange(request, token)
            except UpstreamError as error:
                if span is not None and isinstance(error, UpstreamRejected) and error.status:
                    span.set_attribute("http.response.status_code", error.status)
                if observer is not None:
                    observer(self.name, outcome_of(error), time.perf_counter() - started)
                raise
            if span is not None:
                span.set_attribute("http.response.status_code", response.status)
            if observer is not None:
                observer(self.name, "ok", time.perf_counter() - started)
            return response

    async def _exchange(self, request: _Request, token: str | None) -> JsonResponse:
        headers = CIMultiDict(request.headers)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        tracing.inject(headers)
        where = f"{request.method} {request.path}"
        status: int | None = None
        # The request's deadline cuts this attempt's timeout to the time left.
        left = time_left()
        timeout = self._session.timeout
        if left is not None:
            if left <= 0:
                raise deadline_exceeded(self.name, during=f" before {where}")
            if timeout.total is None or left < timeout.total:
                timeout = aiohttp.ClientTimeout(total=left, sock_connect=timeout.sock_connect)
        try:
            async with self._session.request(
                request.method,
                self.base_url + request.path,
                params=request.params,
                headers=headers,
                data=request.data,
                allow_redirects=False,
                timeout=timeout,
            ) as response:
                status = response.status
                raw = await response.read()
                response_headers: Mapping[str, str] = CIMultiDictProxy(
                    CIMultiDict(response.headers)
                )
        except TimeoutError as exc:
            left = time_left()
            if left is not None and left <= _DEADLINE_SLACK_S:
                raise deadline_exceeded(self.name, during=f" during {where}") from exc
            raise UpstreamTimeout(f"{self.name}: {where} timed out", upstream=self.name) from exc
        except aiohttp.ClientPayloadError as exc:
            raise UpstreamRejected(
                f"{self.name}: {where}: incomplete response body", upstream=self.name, status=status
            ) from exc
        except aiohttp.ClientResponseError as exc:
            raise UpstreamRejected(
                f"{self.name}: {where}: unreadable response", upstream=self.name, status=status
            ) from exc
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(
                f"{self.name}: {where}: {type(exc).__name__}", upstream=self.name
            ) from exc
        except OSError as exc:  # e.g. a reset surfacing before aiohttp wraps it
            raise UpstreamUnavailable(
                f"{self.name}: {where}: {type(exc).__name__}", upstream=self.name
            ) from exc
        return self._decode(where, status, raw, response_headers, undecoded=request.raw)

    def _decode(
        self,
        where: str,
        status: int,
        raw: bytes,
        headers: Mapping[str, str],
        *,
        undecoded: bool = False,
    ) -> JsonResponse:
        if status == 404:
            raise UpstreamNotFound(
                f"{self.name}: {where}: not found{_detail(raw)}", upstream=self.name, status=404
            )
        if not 200 <= status < 300:
            raise UpstreamRejected(
                f"{self.name}: {where}: HTTP {status}{_detail(raw)}",
                upstream=self.name,
                status=status,
            )
        if status == 204 or not raw.strip():
            return JsonResponse(status, None, headers)
        if undecoded:
            return JsonResponse(status, raw, headers)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise UpstreamRejected(
                f"{self.name}: {where}: body is not JSON", upstream=self.name, status=status
            ) from exc
        return JsonResponse(status, body, headers)


def _checked_path(path: str) -> str:
    """Paths are absolute, carry no query (use `params`) and no dot segments."""
    if not path.startswith("/") or "?" in path or "#" in path:
        raise ValueError(f"upstream path must be absolute and without a query: {path!r}")
    if any(segment in {".", ".."} for segment in path.split("/")):
        raise ValueError(f"upstream path must not contain dot segments: {path!r}")
    return path


def _json_headers(extra: Mapping[str, str] | None) -> dict[str, str]:
    # Prisoner search insists on a JSON content type even on GET; sending it
    # everywhere keeps the upstreams' content negotiation predictable.
    headers = {"Content-Type": "application/json"}
    headers.update(extra or {})
    return headers


def _detail(raw: bytes) -> str:
    """The upstream's own explanation from an error body, shortened, if there is one."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return ""
    if not isinstance(body, dict):
        return ""
    for key in ("userMessage", "developerMessage", "error_description", "message", "error"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return f": {value[:_ERROR_DETAIL_CHARS]}"
    return ""
