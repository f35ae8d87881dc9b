"""`GET /api/handovers/{nomsNumber}`: the stored handover, as other services read it.

The contract (docs/DOMAIN.md, "What other services already depend on"):
a client token with `ROLE_VIEW_POM_ALLOCATIONS` (`auth/policy.py`'s reading
services); `{"nomsNumber", "handoverDate", "handoverStartDate",
"responsibility": "POM" | "COM", ...}` with the COM's name and email (from the
case information) only when the COM is responsible, and the primary POM's
name and staff id otherwise; 404 when no handover has been calculated and
stored. Every refusal is `{"status": "error", "message": ...}`: 401 bad or
missing token, 403 wrong role, 400 malformed number, 405 wrong method, 503
when the store or the sign-in keys cannot answer; never a 500.

It reads the stored row, not a live calculation, so the answer is what the
last recalculation wrote (`commands/handover.py`): ONE SQL statement, no
upstream call. The POM's name is the name recorded on the allocation when
the POM was allocated (NOMIS user roles are not asked), and the POM fields
are null when the POM is responsible but nobody is allocated yet.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from allocation_api import calls
from allocation_api.auth import policy
from allocation_api.auth.errors import JwksUnavailable
from allocation_api.auth.identity import ROLE_VIEW_POM_ALLOCATIONS, Identity
from allocation_api.auth.verify import bearer_token
from allocation_api.errors import AllocationApiError, Unauthenticated
from allocation_api.resolvers.context import Services
from allocation_api.rules.responsibility import Responsibility
from allocation_api.store.handovers import PublishedHandover, published_handover
from allocation_api.web.rest import RestRoute

log = logging.getLogger(__name__)

NOMS_NUMBER = re.compile(r"[A-Z][0-9]{4}[A-Z]{2}")
READ_METHODS = ["GET", "HEAD"]
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class StatusError(BaseModel):
    """The error body of the REST contract."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["error"] = "error"
    message: str


class HandoverResponse(BaseModel):
    """`GET /api/handovers/{nomsNumber}`: the COM fields or the POM fields, never both."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    noms_number: str = Field(alias="nomsNumber", examples=["G0862VO"])
    handover_date: dt.date | None = Field(alias="handoverDate")
    handover_start_date: dt.date | None = Field(alias="handoverStartDate")
    responsibility: Literal["POM", "COM"]
    responsible_com_name: str | None = Field(default=None, alias="responsibleComName")
    responsible_com_email: str | None = Field(default=None, alias="responsibleComEmail")
    responsible_pom_name: str | None = Field(default=None, alias="responsiblePomName")
    responsible_pom_nomis_id: int | None = Field(default=None, alias="responsiblePomNomisId")


def json_body(body: BaseModel | dict[str, Any], status: int, **headers: str) -> Response:
    content = (
        body.model_dump(mode="json", by_alias=True, exclude_unset=True)
        if isinstance(body, BaseModel)
        else body
    )
    return Response(orjson.dumps(content), status, headers or None, "application/json")


def status_error(status: int, message: str, **headers: str) -> Response:
    return json_body(StatusError(status="error", message=message), status, **headers)


def handover_body(found: PublishedHandover) -> HandoverResponse:
    row = found.handover
    common: dict[str, Any] = {
        "nomsNumber": row.offender_no,
        "handoverDate": row.handover_date,
        "handoverStartDate": row.start_date,
    }
    if row.responsibility == Responsibility.COMMUNITY:
        return HandoverResponse.model_validate(
            {
                **common,
                "responsibility": "COM",
                "responsibleComName": found.com_name,
                "responsibleComEmail": found.com_email,
            }
        )
    return HandoverResponse.model_validate(
        {
            **common,
            "responsibility": "POM",
            "responsiblePomName": found.pom_name,
            "responsiblePomNomisId": found.pom_staff_id,
        }
    )


def calls_header(counter: calls.CallCounter) -> str:
    """The request's upstream and SQL call counts (dev only, like GraphQL's `extensions.calls`)."""
    return f"upstream={counter.upstream}; store={counter.store}"


async def verified(request: Request, services: Services) -> Identity:
    """The caller, or `Unauthenticated` / `JwksUnavailable`."""
    return await services.verifier.verify(bearer_token(request.headers.get("authorization")))


async def handover(request: Request) -> Response:
    """`GET /api/handovers/{nomsNumber}` (see the module docstring)."""
    if request.method not in READ_METHODS:
        return status_error(405, "Method not allowed: use GET", Allow="GET")
    services: Services = request.app.state.services
    with calls.track_calls() as counter:
        response = await _handover(request, services)
    if services.settings.is_dev:
        response.headers["x-calls"] = calls_header(counter)
    return response


async def _handover(request: Request, services: Services) -> Response:
    try:
        identity = await verified(request, services)
    except Unauthenticated as error:
        return status_error(401, error.message, **{"WWW-Authenticate": "Bearer"})
    except JwksUnavailable as error:
        return status_error(503, error.message)
    if not policy.reads_every_prisoner(identity):
        return status_error(403, "Forbidden: needs a client token with ROLE_VIEW_POM_ALLOCATIONS")
    number = str(request.path_params["nomsNumber"])
    if NOMS_NUMBER.fullmatch(number) is None:
        return status_error(
            400, "nomsNumber must be a prisoner number: a letter, 4 digits, 2 letters (A1234BC)"
        )
    try:
        found = await published_handover(services.reads, number)
    except AllocationApiError as error:
        log.warning("GET /api/handovers/%s: %s", number, error)
        return status_error(503, f"Service unavailable: {error.message}")
    if found is None:
        return status_error(404, "Not found")
    return json_body(handover_body(found), 200)


def routes() -> tuple[RestRoute, ...]:
    """`/api/handovers/{nomsNumber}` for the app's REST registry (served and published)."""
    return (
        RestRoute(
            path="/api/handovers/{nomsNumber}",
            endpoint=handover,
            operation_id="getHandover",
            summary="The prisoner's stored handover dates and who is responsible",
            tag="handover",
            responses={
                200: (HandoverResponse, "The stored handover"),
                400: (StatusError, "Malformed prisoner number"),
                401: (StatusError, "Missing or invalid bearer token"),
                403: (StatusError, f"Not a client token with {ROLE_VIEW_POM_ALLOCATIONS}"),
                404: (StatusError, "No handover calculated and stored for this prisoner"),
                405: (StatusError, "Method other than GET"),
                503: (StatusError, "The store or the sign-in service failed"),
            },
        ),
    )
