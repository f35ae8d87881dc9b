"""`/graphql`: the GraphQL-over-HTTP specification's POST and GET, with APQ.

Written directly on Starlette rather than through strawberry's view so the
service decides, in one place, every answer a hostile or broken request can
get: 401 with `WWW-Authenticate: Bearer` before anything else, then 406 for an
`Accept` that allows neither GraphQL response type, 413 for an oversized body,
415 for a wrong content type, 405 (`Allow: POST`) for a mutation over GET, 400
with a GraphQL error body for bad JSON / a request that is not a well-formed
GraphQL-over-HTTP request. A GraphQL request error (a document that does not
parse or validate, no operation to run, variables that do not coerce, an
unknown persisted-query hash) is 400 under `application/graphql-response+json`
and 200 under `application/json`, where the spec's legacy rule keeps 200 for
every well-formed request; 200 once execution has started. Which media type
answers is `negotiate`'s choice. Errors are formatted by `web/errors.py`.
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
import hashlib
import logging
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import GraphQLError, OperationType, get_operation_ast, parse
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
from allocation_api.web.persisted import PersistedQueries

log = logging.getLogger("allocation_api.graphql")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
JSON_TYPES = (JSON, GRAPHQL_RESPONSE)
SAFE_METHODS = ("GET", "HEAD")
"""Read over the URL; Starlette answers HEAD on every GET route."""
GET_CACHE_HEADERS = {"Cache-Control": "private, no-store", "Vary": "Authorization, Accept"}
"""Answers to GET carry the caller's data: no shared cache may keep or mix them."""
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


class _RequestError(Exception):
    """A GraphQL request error found before execution: 400 or 200 by media type."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    query: str | None
    """None only when a persisted-query hash stands for the document."""
    variables: dict[str, Any] | None
    operation_name: str | None
    persisted_hash: str | None = None


def content_type(media: str) -> str:
    """The response's Content-Type: the spec's media type with its encoding."""
    return f"{media}; charset=utf-8"


def json_response(
    body: Any, status: int, headers: dict[str, str] | None = None, media: str = JSON
) -> Response:
    return Response(
        orjson.dumps(body),
        status_code=status,
        headers={**(headers or {}), "Content-Type": content_type(media)},
    )


def negotiate(accept: str | None) -> str | None:
    """The response media type for an `Accept` header, None when neither is acceptable.

    `application/graphql-response+json` wins whenever it is acceptable at the
    highest quality, including through `*/*` or `application/*` (a wildcard
    leaves the choice to the server, and this is the server's preference).
    A missing or empty header is a legacy client's: `application/json`.
    """
    if accept is None or not accept.strip():
        return JSON
    quality: dict[str, float] = {}
    for part in accept.split(","):
        fields = part.split(";")
        media = fields[0].strip().lower()
        q = 1.0
        for param in fields[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        if media:
            quality[media] = max(q, quality.get(media, 0.0))
    wildcard = max(quality.get("*/*", 0.0), quality.get("application/*", 0.0))
    ranked: list[tuple[float, int, str]] = []
    for rank, media in ((1, GRAPHQL_RESPONSE), (0, JSON)):
        q = quality.get(media, wildcard)
        if q > 0:
            ranked.append((q, rank, media))
    return max(ranked)[2] if ranked else None


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
    return _request(
        payload.get("query"),
        payload.get("variables"),
        payload.get("operationName"),
        payload.get("extensions"),
    )


def _from_url(request: Request) -> GraphQLRequest:
    """GET: the parameters URL-encoded, `variables` and `extensions` as JSON text;
    an empty string is the same as an absent parameter."""
    params = request.query_params

    def param(name: str) -> str | None:
        return params.get(name) or None

    def json_param(name: str) -> Any:
        text = param(name)
        if text is None:
            return None
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            raise _Refused(400, f"'{name}' is not valid JSON", "BAD_REQUEST") from None

    return _request(
        param("query"), json_param("variables"), param("operationName"), json_param("extensions")
    )


_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


def _request(query: Any, variables: Any, operation_name: Any, extensions: Any) -> GraphQLRequest:
    """The well-formed request, or `_Refused` (400) naming the parameter at fault."""
    if query is not None and (not isinstance(query, str) or not query.strip()):
        raise _Refused(400, "'query' must be a non-empty string", "BAD_REQUEST")
    if variables is not None and not isinstance(variables, dict):
        raise _Refused(400, "'variables' must be a JSON object", "BAD_REQUEST")
    if operation_name is not None and not isinstance(operation_name, str):
        raise _Refused(400, "'operationName' must be a string", "BAD_REQUEST")
    if extensions is not None and not isinstance(extensions, dict):
        raise _Refused(400, "'extensions' must be a JSON object", "BAD_REQUEST")
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        if query is None:
            raise _Refused(400, "'query' must be a non-empty string", "BAD_REQUEST")
        return GraphQLRequest(query, variables, operation_name)
    if not isinstance(persisted, dict):
        raise _Refused(400, "'extensions.persistedQuery' must be a JSON object", "BAD_REQUEST")
    if persisted.get("version") != 1:
        raise _Refused(
            400,
            "Only version 1 of persisted queries is supported",
            "PERSISTED_QUERY_VERSION_NOT_SUPPORTED",
        )
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not _SHA256_HEX.match(digest):
        raise _Refused(
            400, "'sha256Hash' must be 64 lowercase hexadecimal characters", "BAD_REQUEST"
        )
    if query is not None and hashlib.sha256(query.encode()).hexdigest() != digest:
        raise _Refused(
            400,
            "The query's SHA-256 does not match 'sha256Hash'",
            "PERSISTED_QUERY_HASH_MISMATCH",
        )
    return GraphQLRequest(query, variables, operation_name, digest)


def _mutation_over_get(query: str, operation_name: str | None, max_tokens: int) -> bool:
    """Whether the operation GET would run is a mutation; a document that does not
    parse (within the token limit), or names no single operation, is left to
    execution to report."""
    try:
        operation = get_operation_ast(parse(query, max_tokens=max_tokens), operation_name)
    except GraphQLError:
        return False
    return operation is not None and operation.operation != OperationType.QUERY


class GraphQLEndpoint:
    """The GraphQL route, bound to one schema and the app's long-lived services."""

    def __init__(self, schema: Schema, metrics: Metrics, persisted: PersistedQueries) -> None:
        self.schema = schema
        self.metrics = metrics
        self.persisted = persisted

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
        if request.method in SAFE_METHODS:
            response.headers.update(GET_CACHE_HEADERS)
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
        media = JSON
        try:
            # Who is asking comes first: an anonymous caller learns nothing else.
            identity = await services.verifier.verify(
                bearer_token(request.headers.get("authorization"))
            )
            accepted = negotiate(request.headers.get("accept"))
            if accepted is None:
                raise _Refused(
                    406,
                    f"Accept {GRAPHQL_RESPONSE} or {JSON}: no other response type is served",
                    "NOT_ACCEPTABLE",
                )
            media = accepted
            if request.method in SAFE_METHODS:
                parsed = _from_url(request)
            else:
                sent = request.headers.get("content-type", "").split(";")[0].strip().lower()
                if sent not in JSON_TYPES:
                    raise _Refused(
                        415, "Send the request as application/json", "UNSUPPORTED_MEDIA_TYPE"
                    )
                parsed = _parse(await _read_body(request, settings.max_body_bytes))
            query = parsed.query
            if query is None:
                assert parsed.persisted_hash is not None
                query = self.persisted.get(parsed.persisted_hash)
                if query is None:
                    raise _RequestError("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
            if request.method in SAFE_METHODS and _mutation_over_get(
                query, parsed.operation_name, settings.max_tokens
            ):
                return json_response(
                    request_error(
                        "Mutations are not run over GET: send them as POST", "METHOD_NOT_ALLOWED"
                    ),
                    405,
                    {"Allow": "POST"},
                    media,
                )
            note_operation(query, parsed.operation_name, identity.username or identity.client_id)
        except _RequestError as error:
            return json_response(
                request_error(error.message, error.code),
                400 if media == GRAPHQL_RESPONSE else 200,
                None,
                media,
            )
        except _Refused as refused:
            return json_response(
                request_error(refused.message, refused.code), refused.status, None, media
            )
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
                    query,
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
                media,
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
            return json_response(
                request_error(message, "GRAPHQL_VALIDATION_FAILED"),
                400 if media == GRAPHQL_RESPONSE else 200,
                None,
                media,
            )
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
            if parsed.persisted_hash is not None:
                # Only a document that passed validation (and so ran) is remembered.
                self.persisted.put(parsed.persisted_hash, query)
        cost: dict[str, int] | None = None
        if settings.debug_extensions_on:
            requested = (result.extensions or {}).get("cost", {}).get("requested")
            if requested is not None:
                cost = {"requested": requested}
                if settings.debug_cost_actual:
                    cost["actual"] = answer_size(result.data)
        # A request error (no execution) is 4xx only where the media type says so.
        status = 200 if started_execution or media == JSON else 400
        return self._answer(body, status, settings, counter, request_id, media, cost)

    def _answer(
        self,
        body: dict[str, Any],
        status: int,
        settings: Settings,
        counter: calls.CallCounter,
        request_id: str,
        media: str,
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
        return Response(encoded, status_code=status, headers={"Content-Type": content_type(media)})


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
