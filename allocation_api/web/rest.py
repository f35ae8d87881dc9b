"""The REST contract other services already call (docs/DOMAIN.md "What other
services already depend on"), on the same read path as the graph.

Endpoints (all `GET`, all JSON):

- `/api/allocation/{nomsNumber}` -> `{"primary_pom": {"staff_id", "name"},
  "secondary_pom": {"staff_id", "name"} or {}}`; 404 `Not ready for
  allocation` (no record) or `Not allocated` (a record without a primary POM).
- `/api/allocation/{nomsNumber}/primary_pom` -> `{"manager": {"code",
  "forename", "surname", "email"}, "prison": {"code"}}`: the same two 404s;
  names and email live from NOMIS user roles (null if it has no account).
- `/api/offenders/{nomsNumber}` -> `{"offender_no", "nomsNumber",
  "early_allocation_eligibility_status"}`; 404 `Not found` when neither NOMIS
  nor the store knows the number.

Every endpoint answers, in this order: 405 (JSON, `Allow: GET`) for another
method; 401 `{"status": "error", "message"}` with `WWW-Authenticate: Bearer`
for a missing or bad token; 403 (same shape) unless the token is a client
token holding `ROLE_VIEW_POM_ALLOCATIONS` (the access policy makes it a
client grant: a user token with that role is refused, since a person never
escapes the caseload rule, `auth/policy.py`); 400 `{"status": "error",
"message", "code": "INVALID_OFFENDER_NO", "field": "nomsNumber"}` for a
malformed prisoner number. Only then does anything reach the store or an
upstream. A failing upstream or store is 503 `{"status": "error", "message",
"code", "upstream"}` (`upstream` names the NOMIS API, or is null for the store
or the deadline), never a 500.

Each request builds a `RequestContext` (`resolvers/context.py`) and reads
through `resolvers/rest_reads.py`: the graph's loaders and caches, no second
data path. In dev (`debug_extensions_on`) the answer carries
`X-Calls: upstream=N, store=M`, which the contract suite pins.

Plugging more endpoints in: every REST endpoint is a `RestRoute` (path,
Starlette endpoint, response models by status, parameters). `routes(metrics)`
returns this module's; `app.py` mounts the one tuple `rest_routes` and hands
the same tuple to `web/openapi.py`, so an endpoint added there (e.g.
`(*rest.routes(metrics), *handovers.routes(metrics))`) is served and
published together, and the contract suite validates its answers against the
document. An endpoint with this module's auth and error handling is
`guarded(read)`, where `read(ctx, offender_no)` returns a pydantic model (200)
or raises `NotFoundAnswer`; one with its own conventions (the subject-access
request, with its own error bodies and query parameters) passes its own
endpoint, response models (`None` plus `text_responses` for non-JSON bodies)
and `parameters`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import Response

from allocation_api import calls
from allocation_api.auth.errors import JwksUnavailable
from allocation_api.auth.identity import ROLE_VIEW_POM_ALLOCATIONS
from allocation_api.auth.policy import reads_every_prisoner
from allocation_api.auth.verify import bearer_token
from allocation_api.errors import StoreUnavailable, Unauthenticated, UpstreamError, ValidationFailed
from allocation_api.resolvers import rest_reads
from allocation_api.resolvers.context import RequestContext, Services, new_context
from allocation_api.schema.parse import check_offender_no
from allocation_api.upstream.retry import request_deadline, retry_budget
from allocation_api.web.metrics import Metrics

# --- response models (the OpenAPI document is generated from these) ---------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ErrorBody(_Body):
    """401, 403, 404 and 405: the real service's error shape."""

    status: Literal["error"] = "error"
    message: str


class InvalidRequestBody(_Body):
    """400: the request names no valid prisoner number."""

    status: Literal["error"] = "error"
    message: str
    code: str
    field: str


class UnavailableBody(_Body):
    """503: an upstream NOMIS API, the store or the sign-in service failed."""

    status: Literal["error"] = "error"
    message: str
    code: str
    upstream: str | None


class PomRef(_Body):
    staff_id: int
    name: str | None


class NoPom(_Body):
    """`{}`: no secondary (co-working) POM."""


class AllocationBody(_Body):
    primary_pom: PomRef
    secondary_pom: PomRef | NoPom


class Manager(_Body):
    code: int
    """The POM's NOMIS staff id."""
    forename: str | None
    surname: str | None
    email: str | None


class PrisonRef(_Body):
    code: str


class PrimaryPomBody(_Body):
    manager: Manager
    prison: PrisonRef


class OffenderBody(_Body):
    offender_no: str
    nomsNumber: str
    early_allocation_eligibility_status: bool


# --- the registry -----------------------------------------------------------

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class RestRoute:
    """One REST endpoint: what `app.py` mounts and `web/openapi.py` publishes."""

    path: str
    """Starlette path, e.g. `/api/allocation/{nomsNumber}` (also the OpenAPI path)."""
    endpoint: Endpoint
    operation_id: str
    summary: str
    responses: Mapping[int, tuple[type[BaseModel] | None, str]]
    """Status -> (body model, or None for a non-JSON / empty body; description)."""
    parameters: Sequence[Mapping[str, Any]] = ()
    """OpenAPI parameter objects (path parameters are added from `path`)."""
    tag: str = "allocation"
    method: str = "GET"
    role: str | None = ROLE_VIEW_POM_ALLOCATIONS
    """The role named in the document; None for an endpoint without auth."""
    text_responses: Mapping[int, str] = field(default_factory=dict)
    """Status -> media type for bodies that are not JSON (e.g. a text/plain template)."""


class NotFoundAnswer(Exception):
    """A read's 404, with the contract's message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _json(body: BaseModel, status: int, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body.model_dump(mode="json")),
        status_code=status,
        media_type="application/json",
        headers=dict(headers) if headers else None,
    )


def _challenge(authorization: str | None, message: str) -> str:
    if not authorization:
        return 'Bearer realm="allocation-api"'
    description = message.replace('"', "'").replace("\\", "/")
    return (
        f'Bearer realm="allocation-api", error="invalid_token", error_description="{description}"'
    )


Read = Callable[[RequestContext, str], Awaitable[BaseModel]]


def guarded(read: Read, *, metrics: Metrics | None = None) -> Endpoint:
    """A Starlette endpoint around `read(ctx, offender_no)`: method, token, role and
    prisoner-number checks first (nothing read for a refusal), then the read under
    the request's call counter, retry budget and deadline."""

    async def endpoint(request: Request) -> Response:
        services: Services = request.app.state.services
        settings = services.settings
        started = time.perf_counter()
        with (
            calls.track_calls() as counter,
            retry_budget(settings.upstream_retry_budget),
            request_deadline(settings.request_deadline_s) as deadline,
        ):
            response = await _answer(request, services, read, deadline.at)
        if metrics is not None:
            metrics.observe_request(
                status=response.status_code,
                seconds=time.perf_counter() - started,
                upstream_calls=counter.upstream,
                store_calls=counter.store,
            )
        if settings.debug_extensions_on:
            response.headers["x-calls"] = f"upstream={counter.upstream}, store={counter.store}"
        return response

    return endpoint


async def _answer(request: Request, services: Services, read: Read, deadline_at: float) -> Response:
    if request.method != "GET":
        return _json(
            ErrorBody(message=f"Method {request.method} not allowed: use GET"),
            405,
            {"Allow": "GET"},
        )
    authorization = request.headers.get("authorization")
    try:
        identity = await services.verifier.verify(bearer_token(authorization))
    except Unauthenticated as error:
        return _json(
            ErrorBody(message=error.message),
            401,
            {"WWW-Authenticate": _challenge(authorization, error.message)},
        )
    except JwksUnavailable as error:
        return _json(
            UnavailableBody(message=error.message, code=error.code, upstream="hmpps-auth"), 503
        )
    if not reads_every_prisoner(identity):
        return _json(
            ErrorBody(
                message=f"Forbidden: this endpoint needs a client token with "
                f"{ROLE_VIEW_POM_ALLOCATIONS}"
            ),
            403,
        )
    try:
        offender_no = check_offender_no(request.path_params["nomsNumber"], "nomsNumber")
    except ValidationFailed as error:
        return _json(
            InvalidRequestBody(
                message=error.message, code=error.code, field=error.field or "nomsNumber"
            ),
            400,
        )
    request_id = uuid.uuid4().hex
    ctx = new_context(services, identity, request_id)
    try:
        async with asyncio.timeout_at(deadline_at):
            body = await read(ctx, offender_no)
    except NotFoundAnswer as answer:
        return _json(ErrorBody(message=answer.message), 404)
    except UpstreamError as error:
        return _json(
            UnavailableBody(message=error.message, code=error.code, upstream=error.upstream), 503
        )
    except StoreUnavailable as error:
        return _json(UnavailableBody(message=error.message, code=error.code, upstream=None), 503)
    except TimeoutError:
        return _json(
            UnavailableBody(
                message=f"The request did not complete within its deadline of "
                f"{services.settings.request_deadline_s:g} s",
                code="DEADLINE_EXCEEDED",
                upstream=None,
            ),
            503,
        )
    return _json(body, 200)


# --- the reads --------------------------------------------------------------

NOT_READY = "Not ready for allocation"
NOT_ALLOCATED = "Not allocated"


async def read_allocation(ctx: RequestContext, offender_no: str) -> AllocationBody:
    found = await rest_reads.allocation(ctx, offender_no)
    if found is None:
        raise NotFoundAnswer(NOT_READY)
    if found.primary_pom_staff_id is None:
        raise NotFoundAnswer(NOT_ALLOCATED)
    secondary: PomRef | NoPom = (
        NoPom()
        if found.secondary_pom_staff_id is None
        else PomRef(staff_id=found.secondary_pom_staff_id, name=found.secondary_pom_name)
    )
    return AllocationBody(
        primary_pom=PomRef(staff_id=found.primary_pom_staff_id, name=found.primary_pom_name),
        secondary_pom=secondary,
    )


async def read_primary_pom(ctx: RequestContext, offender_no: str) -> PrimaryPomBody:
    found = await rest_reads.allocation(ctx, offender_no)
    if found is None:
        raise NotFoundAnswer(NOT_READY)
    staff_id = found.primary_pom_staff_id
    if staff_id is None:
        raise NotFoundAnswer(NOT_ALLOCATED)
    user = await rest_reads.staff_user(ctx, staff_id)
    return PrimaryPomBody(
        manager=Manager(
            code=staff_id,
            forename=None if user is None else user.firstName,
            surname=None if user is None else user.lastName,
            email=None if user is None else user.primaryEmail,
        ),
        prison=PrisonRef(code=found.prison_code),
    )


async def read_offender(ctx: RequestContext, offender_no: str) -> OffenderBody:
    found = await rest_reads.early_allocation_status(ctx, offender_no)
    if found is None:
        raise NotFoundAnswer("Not found")
    return OffenderBody(
        offender_no=found.offender_no,
        nomsNumber=found.offender_no,
        early_allocation_eligibility_status=found.early_allocation,
    )


_NOT_FOUND = f"'{NOT_READY}' (no record) or '{NOT_ALLOCATED}' (no primary POM)"
_REFUSALS: dict[int, tuple[type[BaseModel] | None, str]] = {
    400: (InvalidRequestBody, "Malformed prisoner number"),
    401: (ErrorBody, "Missing or invalid bearer token"),
    403: (ErrorBody, f"Not a client token with {ROLE_VIEW_POM_ALLOCATIONS}"),
    405: (ErrorBody, "Method other than GET"),
    503: (UnavailableBody, "An upstream, the store or the sign-in service failed"),
}


def routes(metrics: Metrics | None = None) -> tuple[RestRoute, ...]:
    """This module's endpoints (bound to the app's metrics)."""
    return (
        RestRoute(
            path="/api/allocation/{nomsNumber}",
            endpoint=guarded(read_allocation, metrics=metrics),
            operation_id="getAllocation",
            summary="The prisoner's primary and secondary (co-working) POM",
            responses={
                200: (AllocationBody, "Allocated"),
                404: (
                    ErrorBody,
                    f"'{NOT_READY}' (no record) or '{NOT_ALLOCATED}' (no primary POM)",
                ),
                **_REFUSALS,
            },
        ),
        RestRoute(
            path="/api/allocation/{nomsNumber}/primary_pom",
            endpoint=guarded(read_primary_pom, metrics=metrics),
            operation_id="getPrimaryPom",
            summary="The primary POM with names and email live from NOMIS user roles",
            responses={
                200: (PrimaryPomBody, "Allocated"),
                404: (
                    ErrorBody,
                    f"'{NOT_READY}' (no record) or '{NOT_ALLOCATED}' (no primary POM)",
                ),
                **_REFUSALS,
            },
        ),
        RestRoute(
            path="/api/offenders/{nomsNumber}",
            endpoint=guarded(read_offender, metrics=metrics),
            operation_id="getOffender",
            summary="Whether the case counts as early allocation",
            tag="offenders",
            responses={
                200: (OffenderBody, "Known prisoner"),
                404: (ErrorBody, "'Not found': neither NOMIS nor this service knows the number"),
                **_REFUSALS,
            },
        ),
    )
