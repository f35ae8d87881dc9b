"""One access log line, one server span and the request metrics for every HTTP request.

A plain ASGI middleware (no Starlette `BaseHTTPMiddleware`, which would run
the app in another task) around every route:

* binds the request's `tracing.RequestScope` (request id from a well-formed
  `x-request-id`, else a new one; trace id) for the log filter and the spans;
* continues the caller's W3C `traceparent` in a SERVER span named after the
  route while tracing is on;
* answers with `x-request-id`, `x-trace-id` and, while tracing is on,
  `traceparent` (the server span's: the caller can open the trace from it);
* logs one line when the answer has been sent (logger `allocation_api.access`):
  method, path, status, duration_ms, and for GraphQL the operation name and
  type, the user, the error count and the upstream and SQL call counts;
  probes and scrapes (`/health*`, `/metrics`) log at DEBUG, so they do not
  drown the requests at INFO;
* observes the per-operation metrics of `/graphql` (`web/metrics.py`).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import time
import uuid
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, parse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from allocation_api import tracing
from allocation_api.web.metrics import Metrics

access_log = logging.getLogger("allocation_api.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_QUIET_PREFIXES = ("/health", "/metrics")
GRAPHQL_PATH = "/graphql"


def request_id_of(given: str | None) -> str:
    """The caller's X-Request-Id when it is a plain token (it goes into logs), else a new one."""
    if given and _REQUEST_ID.match(given):
        return given
    return uuid.uuid4().hex


_MEMO_MAX_CHARS = 4096


def describe_operation(query: str, operation_name: str | None) -> tuple[str, str | None, str]:
    """(operation type, operation name, sha256 of the document) for spans and logs.

    Memoised per document text for documents up to `_MEMO_MAX_CHARS` (so the
    memo holds at most 512 x 4 KiB): clients send the same few documents again
    and again, so the parse runs once per document.
    """
    if len(query) <= _MEMO_MAX_CHARS:
        return _describe(query, operation_name)
    return _describe.__wrapped__(query, operation_name)


@functools.lru_cache(maxsize=512)
def _describe(query: str, operation_name: str | None) -> tuple[str, str | None, str]:
    digest = hashlib.sha256(query.encode()).hexdigest()
    try:
        document = parse(query, no_location=True, max_tokens=5000)
    except GraphQLError:
        return "unknown", operation_name, digest
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        name = definition.name.value if definition.name else None
        if operation_name is None or name == operation_name:
            return definition.operation.value, name, digest
    return "unknown", operation_name, digest


def note_operation(query: str, operation_name: str | None, user: str | None) -> None:
    """Record what the GraphQL layer learnt about the request in its scope (and span)."""
    current = tracing.scope()
    if current is None:
        return
    kind, name, digest = describe_operation(query, operation_name)
    current.operation_type, current.operation_name, current.document_hash = kind, name, digest
    current.user = user


class ObserveRequests:
    """The middleware (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, routes: frozenset[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = _headers(scope)
        method: str = scope["method"]
        path: str = scope["path"]
        route = path if path in self.routes else None
        status = 500
        with tracing.request_scope(
            request_id_of(headers.get("x-request-id")), headers.get("traceparent")
        ) as current:
            span_name = f"{method} {route}" if route else method
            with tracing.span(
                span_name,
                {"http.request.method": method, "url.path": path, "http.route": route},
                kind=tracing.SpanKind.SERVER,
                context=tracing.extract(headers),
            ) as server_span:
                tracing.adopt_span_trace_id(current, server_span)
                extra = [
                    (b"x-request-id", current.request_id.encode()),
                    (b"x-trace-id", current.trace_id.encode()),
                ]
                traceparent = tracing.traceparent_of(server_span)
                if traceparent is not None:
                    extra.append((b"traceparent", traceparent.encode()))

                async def send_observed(message: Message) -> None:
                    nonlocal status
                    if message["type"] == "http.response.start":
                        status = message["status"]
                        given = message.get("headers") or []
                        names = {name.lower() for name, _ in given}
                        message["headers"] = [
                            *given,
                            *(pair for pair in extra if pair[0] not in names),
                        ]
                    await send(message)

                try:
                    await self.app(scope, receive, send_observed)
                finally:
                    if server_span is not None:
                        server_span.set_attribute("http.response.status_code", status)
                        if status >= 500:
                            server_span.set_status(tracing.Status(tracing.StatusCode.ERROR))
                    seconds = time.perf_counter() - started
                    if path == GRAPHQL_PATH and method == "POST":
                        self.metrics.observe_operation(
                            current.operation_name,
                            current.operation_type,
                            status=status,
                            seconds=seconds,
                        )
                    _log_line(current, method, path, status, seconds)


def _headers(scope: Scope) -> dict[str, str]:
    """The few request headers this layer reads, lower-cased names."""
    wanted = {b"x-request-id", b"traceparent", b"tracestate"}
    found: dict[str, str] = {}
    for name, value in scope.get("headers") or ():
        lowered = name.lower()
        if lowered in wanted:
            found[lowered.decode("latin-1")] = value.decode("latin-1")
    return found


def _log_line(
    current: tracing.RequestScope, method: str, path: str, status: int, seconds: float
) -> None:
    quiet = path.startswith(_QUIET_PREFIXES) and status < 500
    level = logging.DEBUG if quiet else logging.INFO
    if not access_log.isEnabledFor(level):
        return
    fields: dict[str, Any] = {
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
    }
    if current.operation_type is not None:
        fields["operation"] = current.operation_name
        fields["operation_type"] = current.operation_type
        fields["user"] = current.user
        fields["errors"] = current.errors
        fields["upstream_calls"] = current.upstream_calls
        fields["sql_statements"] = current.sql_statements
    access_log.log(level, "%s %s %d", method, path, status, extra=fields)
