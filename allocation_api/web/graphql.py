"""`POST /graphql`: GraphQL over HTTP, JSON in and out; `GET /graphql`: GraphiQL.

Written directly on Starlette rather than through strawberry's view so the
service decides, in one place, every answer a hostile or broken request can
get: 401 with `WWW-Authenticate: Bearer` before anything else, 413 for an
oversized body, 415 for a wrong content type, 400 with a GraphQL error body
for bad JSON / bad request shape / documents that fail to parse or validate,
and 200 once execution has started. Errors are formatted by `web/errors.py`.
Each request binds a call counter (reported in `extensions.calls` when debug
extensions are on), an upstream retry budget and a deadline.

Two backstops bound what one request can take once it runs:

* the deadline (`request_deadline_s`, from arrival): upstream calls never
  outlive it (`upstream/retry.py`); should anything else keep the execution
  running past it (plus `DEADLINE_GRACE_S`, which lets an upstream call cut
  off at the deadline report at its own path first), the execution is
  cancelled and the answer is a `DEADLINE_EXCEEDED` error without data;
* the response size (`max_response_bytes`): a body that would encode larger
  is replaced by a `RESPONSE_TOO_LARGE` error without data, never sent in
  part. The query cost limit (`schema/cost.py`) refuses big documents before
  they run; this catches what its estimates miss.

Both answers keep HTTP 200 (execution had started) and `data: null`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from strawberry import Schema
from strawberry.schema.exceptions import CannotGetOperationTypeError

from allocation_api import calls, tracing
from allocation_api.auth.errors import JwksUnavailable
from allocation_api.auth.verify import bearer_token
from allocation_api.errors import AllocationApiError, Unauthenticated
from allocation_api.resolvers.context import Services, new_context
from allocation_api.schema.cost import answer_size
from allocation_api.settings import Settings
from allocation_api.upstream.retry import DEADLINE_EXCEEDED, request_deadline, retry_budget
from allocation_api.web.errors import format_error, release_tracebacks, request_error
from allocation_api.web.metrics import Metrics
from allocation_api.web.observe import note_operation

log = logging.getLogger("allocation_api.graphql")

JSON_TYPES = ("application/json", "application/graphql-response+json")
RESPONSE_TOO_LARGE = "RESPONSE_TOO_LARGE"
DEADLINE_GRACE_S = 1.0
"""How long after the deadline the outer guard cancels the execution (see above)."""


class _Refused(Exception):
    """A request refused before execution, with its HTTP status and error code."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None


def json_response(body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise _Refused(400, "Content-Length is not a number", "BAD_REQUEST")
        if int(declared) > limit:
            raise _Refused(413, f"Request body larger than {limit} bytes", "PAYLOAD_TOO_LARGE")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _Refused(413, f"Request body larger than {limit} bytes", "PAYLOAD_TOO_LARGE")
            chunks.append(chunk)
    except ClientDisconnect:
        raise _Refused(400, "The client went away mid-request", "BAD_REQUEST") from None
    return b"".join(chunks)


def _parse(body: bytes) -> GraphQLRequest:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise _Refused(400, "Request body is not valid JSON (UTF-8)", "BAD_REQUEST") from None
    if isinstance(payload, list):
        raise _Refused(400, "Batched requests are not supported: send one operation", "BAD_REQUEST")
    if not isinstance(payload, dict):
        raise _Refused(400, "Request body must be a JSON object", "BAD_REQUEST")
    query = payload.get("query")
    variables = payload.get("variables")
    operation_name = payload.get("operationName")
    if not isinstance(query, str) or not query.strip():
        raise _Refused(400, "'query' must be a non-empty string", "BAD_REQUEST")
    if variables is not None and not isinstance(variables, dict):
        raise _Refused(400, "'variables' must be a JSON object", "BAD_REQUEST")
    if operation_name is not None and not isinstance(operation_name, str):
        raise _Refused(400, "'operationName' must be a string", "BAD_REQUEST")
    return GraphQLRequest(query, variables, operation_name)


class GraphQLEndpoint:
    """The GraphQL route, bound to one schema and the app's long-lived services."""

    def __init__(self, schema: Schema, metrics: Metrics) -> None:
        self.schema = schema
        self.metrics = metrics

    async def handle(self, request: Request) -> Response:
        services: Services = request.app.state.services
        settings = services.settings
        scope = tracing.scope()
        request_id = scope.request_id if scope else _request_id(request.headers.get("x-request-id"))
        started = time.perf_counter()
        status = 500
        with (
            calls.track_calls() as counter,
            retry_budget(settings.upstream_retry_budget),
            request_deadline(settings.request_deadline_s) as deadline,
            tracing.span("graphql.operation") as span,
        ):
            try:
                response = await self._handle(request, services, request_id, counter, deadline.at)
                status = response.status_code
            finally:
                _observed(scope, span, counter)
                self.metrics.observe_request(
                    status=status,
                    seconds=time.perf_counter() - started,
                    upstream_calls=counter.upstream,
                    store_calls=counter.store,
                )
        response.headers["x-request-id"] = request_id
        return response

    async def _handle(
        self,
        request: Request,
        services: Services,
        request_id: str,
        counter: calls.CallCounter,
        deadline_at: float,
    ) -> Response:
        settings = services.settings
        try:
            # Who is asking comes first: an anonymous caller learns nothing else.
            identity = await services.verifier.verify(
                bearer_token(request.headers.get("authorization"))
            )
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type not in JSON_TYPES:
                raise _Refused(
                    415, "Send the request as application/json", "UNSUPPORTED_MEDIA_TYPE"
                )
            parsed = _parse(await _read_body(request, settings.max_body_bytes))
            note_operation(
                parsed.query, parsed.operation_name, identity.username or identity.client_id
            )
        except _Refused as refused:
            return json_response(request_error(refused.message, refused.code), refused.status)
        except Unauthenticated as error:
            return json_response(
                request_error(error.message, "UNAUTHENTICATED"),
                401,
                {"WWW-Authenticate": _challenge(error, request.headers.get("authorization"))},
            )
        except JwksUnavailable as error:
            return json_response(request_error(error.message, error.code), 503)

        context = new_context(services, identity, request_id)
        try:
            async with asyncio.timeout_at(deadline_at + DEADLINE_GRACE_S):
                result = await self.schema.execute(
                    parsed.query,
                    variable_values=parsed.variables,
                    context_value=context,
                    operation_name=parsed.operation_name,
                )
        except TimeoutError:
            log.warning(
                "GraphQL request %s cancelled at its deadline of %g s",
                request_id,
                settings.request_deadline_s,
            )
            return self._answer(
                _without_data(
                    f"The request did not complete within its deadline of "
                    f"{settings.request_deadline_s:g} s",
                    DEADLINE_EXCEEDED,
                ),
                200,
                settings,
                counter,
                request_id,
            )
        except CannotGetOperationTypeError:
            # The document holds no operation to run (only fragments, or none named
            # `operationName`): the request is at fault.
            name = parsed.operation_name
            message = (
                f"The document has no operation named {name!r}"
                if name is not None
                else "The document has no operation to run (or several: name one in operationName)"
            )
            return json_response(request_error(message, "GRAPHQL_VALIDATION_FAILED"), 400)
        except Exception:
            # Resolver failures are caught by graphql-core; this is a failure of the
            # machinery itself (an extension, a bug). Log it; answer without details.
            log.exception("GraphQL execution failed in request %s", request_id)
            return json_response(
                request_error(f"Internal error (request id {request_id})", "INTERNAL"), 500
            )
        body: dict[str, Any] = {}
        errors = result.errors or []
        if (scope := tracing.scope()) is not None:
            scope.errors = len(errors)
        if errors:
            mask = not settings.is_dev
            body["errors"] = [format_error(e, request_id=request_id, mask=mask) for e in errors]
            release_tracebacks(errors)
        started_execution = result.data is not None or any(e.path is not None for e in errors)
        if started_execution:
            body["data"] = result.data
        cost: dict[str, int] | None = None
        if settings.debug_extensions_on:
            requested = (result.extensions or {}).get("cost", {}).get("requested")
            if requested is not None:
                cost = {"requested": requested}
                if settings.debug_cost_actual:
                    cost["actual"] = answer_size(result.data)
        return self._answer(
            body, 200 if started_execution else 400, settings, counter, request_id, cost
        )

    def _answer(
        self,
        body: dict[str, Any],
        status: int,
        settings: Settings,
        counter: calls.CallCounter,
        request_id: str,
        cost: dict[str, int] | None = None,
    ) -> Response:
        """The encoded answer, or `RESPONSE_TOO_LARGE` if it would exceed the size cap."""
        if settings.debug_extensions_on:
            extensions: dict[str, Any] = {"calls": counter.as_dict(), "requestId": request_id}
            if cost is not None:
                extensions["cost"] = cost
            body["extensions"] = extensions
        encoded = orjson.dumps(body)
        if len(encoded) > settings.max_response_bytes:
            log.warning(
                "GraphQL response of request %s was %d bytes, over the cap of %d: refused",
                request_id,
                len(encoded),
                settings.max_response_bytes,
            )
            refused = _without_data(
                f"The response would be larger than {settings.max_response_bytes} bytes: "
                "ask for smaller pages or fewer fields",
                RESPONSE_TOO_LARGE,
                limit=settings.max_response_bytes,
            )
            if "extensions" in body:
                refused["extensions"] = body["extensions"]
            encoded = orjson.dumps(refused)
        return Response(encoded, status_code=status, media_type="application/json")


def _observed(
    scope: tracing.RequestScope | None, span: tracing.Span | None, counter: calls.CallCounter
) -> None:
    """Put what the request did on its scope (the access log line) and operation span."""
    if scope is None:
        return
    scope.upstream_calls, scope.sql_statements = counter.upstream, counter.store
    if span is not None:
        if scope.operation_type is not None:
            span.update_name(f"{scope.operation_type} {scope.operation_name or 'anonymous'}")
        span.set_attributes(
            {
                "graphql.operation.name": scope.operation_name or "",
                "graphql.operation.type": scope.operation_type or "unknown",
                "graphql.document.hash": scope.document_hash or "",
                "graphql.errors.count": scope.errors,
                "allocation_api.calls.upstream": counter.upstream,
                "allocation_api.calls.store": counter.store,
            }
        )


def _without_data(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    """An answer to a request whose execution started but yields no data."""
    return {
        "errors": [{"message": message, "extensions": {"code": code, **extensions}}],
        "data": None,
    }


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _request_id(given: str | None) -> str:
    """The caller's X-Request-Id when it is a plain token (it goes into logs), else a new one."""
    if given and _REQUEST_ID.match(given):
        return given
    return uuid.uuid4().hex


def _challenge(error: AllocationApiError, authorization: str | None) -> str:
    """RFC 6750: a bare challenge when no token came, `invalid_token` when one failed."""
    if not authorization:
        return 'Bearer realm="allocation-api"'
    description = error.message.replace('"', "'").replace("\\", "/")
    return (
        f'Bearer realm="allocation-api", error="invalid_token", error_description="{description}"'
    )
