"""Fake prison-api: POM roles (header paging), batch staff, agencies, movements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from allocation_api.sandbox.server import BadRequest, FakeUpstream, json_response, read_json

DEFAULT_PAGE_LIMIT = 10


class PrisonApi(FakeUpstream):
    """The prison-api routes the allocation API reads (base path `/api`)."""

    name = "prison-api"

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/api/staff/roles/{prisonId}/role/POM", self.pom_roles)
        router.add_post("/api/staff", self.staff)
        router.add_get("/api/agencies/{agencyId}", self.agency)
        router.add_get("/api/movements", self.movements_on)
        router.add_post("/api/movements/offenders", self.movements_for)

    def error_body(self, status: int, message: str) -> Mapping[str, Any]:
        return {
            "status": status,
            "errorCode": status,
            "userMessage": message,
            "developerMessage": message,
            "moreInfo": "Sandbox prison-api; see docs/DOMAIN.md, Upstream APIs",
        }

    async def pom_roles(self, request: web.Request) -> web.Response:
        """Staff holding the POM role, paged by the Page-Offset/Page-Limit request headers."""
        offset = _header_int(request, "Page-Offset", 0)
        limit = _header_int(request, "Page-Limit", DEFAULT_PAGE_LIMIT)
        if offset < 0 or limit < 1:
            raise BadRequest("Page-Offset must be >= 0 and Page-Limit >= 1")
        rows = self.data.poms(request.match_info["prisonId"])
        headers = {
            "Total-Records": str(len(rows)),
            "Page-Offset": str(offset),
            "Page-Limit": str(limit),
        }
        return json_response(rows[offset : offset + limit], headers=headers)

    async def staff(self, request: web.Request) -> web.Response:
        """Batch staff read: a JSON array of staff ids in, known staff out."""
        ids = await read_json(request)
        if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids
        ):
            raise BadRequest("The request body must be a JSON array of staff ids")
        return json_response(self.data.staff_members(ids))

    async def agency(self, request: web.Request) -> web.Response:
        agency_id = request.match_info["agencyId"]
        found = self.data.agency(agency_id)
        if found is None:
            return self.error(404, f"Resource with id [{agency_id}] not found.")
        return json_response(found)

    async def movements_on(self, request: web.Request) -> web.Response:
        """Latest movement per prisoner on `movementDate` (optionally since `fromDateTime`)."""
        day = _required_date(request, "movementDate")
        since_raw = request.query.get("fromDateTime")
        try:
            since = dt.datetime.fromisoformat(since_raw) if since_raw else None
        except ValueError:
            raise BadRequest(f"fromDateTime is not a date-time: '{since_raw}'") from None
        return json_response(self.data.movements_on(day, since=since))

    async def movements_for(self, request: web.Request) -> web.Response:
        """Movements of the prisoners in the body, by `movementTypes`, latest only by default."""
        numbers = await read_json(request)
        if not isinstance(numbers, list) or not all(isinstance(n, str) for n in numbers):
            raise BadRequest("The request body must be a JSON array of prisoner numbers")
        types = [
            t.strip()
            for value in request.query.getall("movementTypes", [])
            for t in value.split(",")
            if t.strip()
        ]
        latest_raw = request.query.get("latestOnly", "true").lower()
        if latest_raw not in ("true", "false"):
            raise BadRequest("latestOnly must be true or false")
        found = self.data.movements_for(numbers, types, latest_only=latest_raw == "true")
        return json_response(found)


def _header_int(request: web.Request, name: str, default: int) -> int:
    raw = request.headers.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"Header {name} must be an integer, got '{raw}'") from None


def _required_date(request: web.Request, name: str) -> dt.date:
    raw = request.query.get(name)
    if not raw:
        raise BadRequest(f"Required request parameter '{name}' is not present")
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"Parameter '{name}' must be a date (yyyy-MM-dd), got '{raw}'") from None
