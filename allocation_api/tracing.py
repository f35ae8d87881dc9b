"""Traces (OpenTelemetry) and the per-request correlation every log line carries.

A base utility: every layer that does I/O imports it (`web/` for the operation
and the request, `resolvers/loaders.py` for batches, `upstream/http.py` for
HTTP calls, `store/` for SQL), so it sits beside `calls.py` at the bottom of
the stack and imports nothing of the package but `settings`.

Tracing is off unless an exporter is configured (`configure`): the OTLP
endpoint setting, the console exporter of `allocation-api dev --trace-console`,
or a test's in-memory exporter. While it is off, `span()` returns one shared
`nullcontext` and the hooks skip their work after a single boolean test, so
the request path pays nothing measurable (the loaders are not even wrapped).

What a request carries, on or off:

* a `RequestScope` in a context variable (`scope()`): the request id, the
  trace id, and what the GraphQL layer learns (operation, user, errors), read
  by the access log line and by the log filter that puts `request_id` and
  `trace_id` on every record logged while the request runs (asyncio copies
  the context into the request's tasks, DataLoader batches included);
* a trace id: the active span's when tracing is on; otherwise the caller's
  `traceparent` trace id when it sent one (so logs still join the caller's
  trace), else a fresh random one.

W3C trace context goes out on every upstream HTTP call (`inject`): the
current span's when tracing is on, the caller's own `traceparent` passed
through unchanged when it is off.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator, Mapping, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = [
    "RequestScope",
    "Span",
    "SpanKind",
    "Status",
    "StatusCode",
    "configure",
    "enabled",
    "extract",
    "inject",
    "request_scope",
    "reset",
    "scope",
    "span",
    "start_span",
]

log = logging.getLogger(__name__)

TRACER_NAME = "allocation_api"
_PROPAGATOR = TraceContextTextMapPropagator()
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")
_NULL: contextlib.nullcontext[None] = contextlib.nullcontext()

_enabled = False
_tracer: Tracer = trace.NoOpTracer()
_provider: Any = None  # opentelemetry.sdk.trace.TracerProvider while configured


def enabled() -> bool:
    """True while spans are recorded and exported."""
    return _enabled


def configure(
    *,
    service_name: str,
    service_version: str,
    otlp_endpoint: str | None = None,
    console: bool = False,
    exporters: tuple[Any, ...] = (),
) -> bool:
    """Record spans for the exporters asked for; with none, tracing stays off.

    `exporters` are SDK `SpanExporter`s exported synchronously (tests pass an
    `InMemorySpanExporter`); OTLP goes through a batch processor, so a slow
    collector never holds a request. The SDK is imported only here: a service
    without an exporter never loads it. Returns whether tracing is on.
    """
    global _enabled, _tracer, _provider
    reset()
    if not (otlp_endpoint or console or exporters):
        return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )

    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name, "service.version": service_version})
    )
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = otlp_endpoint.rstrip("/")
        if not endpoint.endswith("/v1/traces"):
            endpoint += "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    if console:
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    for exporter in exporters:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    # Our own provider, not the global one: the global can be set once per
    # process, and tests configure tracing per app.
    _provider = provider
    _tracer = provider.get_tracer(TRACER_NAME)
    _enabled = True
    return True


def reset() -> None:
    """Flush and stop the exporters; tracing is off afterwards."""
    global _enabled, _tracer, _provider
    provider, _provider = _provider, None
    _enabled = False
    _tracer = trace.NoOpTracer()
    if provider is not None:
        provider.shutdown()


def span(
    name: str,
    attributes: Mapping[str, Any] | None = None,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    context: Context | None = None,
) -> contextlib.AbstractContextManager[Span | None]:
    """A span around the block, current inside it (children nest), or nothing while
    tracing is off. Exceptions are recorded and set the span's status to error.

    The hook for work outside the request path too (an outbox delivery):
    `with tracing.span("outbox.deliver", {"event.type": ...})`.
    """
    if not _enabled:
        return _NULL
    return _tracer.start_as_current_span(
        name, context=context, kind=kind, attributes=_clean(attributes) if attributes else None
    )


def start_span(
    name: str, attributes: Mapping[str, Any], *, kind: SpanKind = SpanKind.INTERNAL
) -> Span | None:
    """A started span the caller ends (for hooks split over two callbacks), or None if off."""
    if not _enabled:
        return None
    return _tracer.start_span(name, kind=kind, attributes=_clean(attributes))


def end_span(started: Span | None, error: BaseException | None = None) -> None:
    if started is None:
        return
    if error is not None:
        started.record_exception(error)
        started.set_status(Status(StatusCode.ERROR, type(error).__name__))
    started.end()


def _clean(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """OpenTelemetry takes str/bool/int/float (or sequences of them); None is dropped."""
    return {
        key: value if isinstance(value, str | bool | int | float) else str(value)
        for key, value in attributes.items()
        if value is not None
    }


def extract(headers: Mapping[str, str]) -> Context | None:
    """The caller's trace context from `traceparent`/`tracestate` (None while off)."""
    if not _enabled:
        return None
    return _PROPAGATOR.extract(headers)


def inject(headers: MutableMapping[str, str]) -> None:
    """Add `traceparent` (and `tracestate`) for an outgoing call: the current span's
    while tracing is on, the caller's own header passed through while it is off."""
    if _enabled:
        _PROPAGATOR.inject(headers)
        return
    current = _scope.get()
    if current is not None and current.incoming_traceparent is not None:
        headers["traceparent"] = current.incoming_traceparent


def traceparent_of(current: Span | None) -> str | None:
    """The W3C header naming `current` (for the response), if it is a recorded span."""
    if current is None:
        return None
    context = current.get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


# --- per-request correlation ------------------------------------------------------


@dataclass(slots=True)
class RequestScope:
    """What one HTTP request's log line and spans say about it (filled as it runs)."""

    request_id: str
    trace_id: str
    incoming_traceparent: str | None = None
    operation_name: str | None = None
    operation_type: str | None = None
    document_hash: str | None = None
    user: str | None = None
    errors: int = 0
    upstream_calls: int = 0
    sql_statements: int = 0


_scope: ContextVar[RequestScope | None] = ContextVar("allocation_api_request", default=None)


def scope() -> RequestScope | None:
    """The scope of the request being handled, if any."""
    return _scope.get()


def incoming_trace_id(traceparent: str | None) -> str | None:
    """The trace id of a well-formed W3C `traceparent` (all-zero ids are invalid)."""
    if traceparent is None:
        return None
    match = _TRACEPARENT.match(traceparent.strip().lower())
    if match is None or match.group(1) == "0" * 32 or match.group(2) == "0" * 16:
        return None
    return match.group(1)


def new_trace_id() -> str:
    return os.urandom(16).hex()


@contextlib.contextmanager
def request_scope(request_id: str, traceparent: str | None) -> Iterator[RequestScope]:
    """Bind a scope for one request; its trace id is provisional until a span starts."""
    trace_id = incoming_trace_id(traceparent)
    current = RequestScope(
        request_id=request_id,
        trace_id=trace_id or new_trace_id(),
        incoming_traceparent=traceparent.strip().lower() if trace_id and traceparent else None,
    )
    token = _scope.set(current)
    try:
        yield current
    finally:
        _scope.reset(token)


def adopt_span_trace_id(current: RequestScope, started: Span | None) -> None:
    """Make the scope's trace id the recorded span's (once tracing has started one)."""
    if started is not None:
        context = started.get_span_context()
        if context.is_valid:
            current.trace_id = f"{context.trace_id:032x}"
