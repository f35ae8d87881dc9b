"""Typed reads from prison-api: POM roles, staff, prisons (agencies) and movements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Final
from urllib.parse import quote

from allocation_api.errors import UpstreamNotFound
from allocation_api.upstream.batching import chunks, gather_all, unique
from allocation_api.upstream.http import UpstreamHttp
from allocation_api.upstream.models import Agency, Movement, StaffDetail, StaffRole
from allocation_api.upstream.parsing import parse_list, parse_one

POM_PAGE_LIMIT: Final = 1000
"""Page-Limit of the first POM page: one request covers any real prison."""

MAX_POM_PAGES: Final = 100
"""A bound on paging, so a wrong Total-Records header cannot fan out without end."""


class PrisonApiClient:
    """Reads from prison-api (base path /api); never writes."""

    def __init__(
        self,
        http: UpstreamHttp,
        *,
        batch_size: int = 500,
        pom_page_limit: int = POM_PAGE_LIMIT,
    ) -> None:
        self.http = http
        self.batch_size = batch_size
        self.pom_page_limit = pom_page_limit

    @property
    def name(self) -> str:
        return self.http.name

    async def poms_at_prison(self, prison_id: str) -> list[StaffRole]:
        """Active staff holding the POM role at a prison, every page of them.

        The first page is asked for with a big Page-Limit; if Total-Records
        says there are more, the remaining pages are read concurrently, each
        as large as the first page the upstream actually returned.
        """
        path = f"/api/staff/roles/{quote(prison_id, safe='')}/role/POM"
        first, total = await self._pom_page(path, offset=0, limit=self.pom_page_limit)
        step = len(first)
        if step == 0 or total <= step:
            return first
        offsets = range(step, total, step)[: MAX_POM_PAGES - 1]
        rest = await gather_all(self._pom_page(path, offset=o, limit=step) for o in offsets)
        return first + [role for page, _ in rest for role in page]

    async def _pom_page(self, path: str, *, offset: int, limit: int) -> tuple[list[StaffRole], int]:
        response = await self.http.get_json_response(
            path, headers={"Page-Offset": str(offset), "Page-Limit": str(limit)}
        )
        roles = parse_list(StaffRole, response.body, upstream=self.name, what="POM roles")
        return roles, _total_records(response.headers.get("Total-Records"), len(roles) + offset)

    async def staff_by_ids(self, staff_ids: Sequence[int]) -> list[StaffDetail]:
        """Staff details for the given ids (deduplicated, in concurrent chunks)."""
        ids = unique(staff_ids)
        if not ids:
            return []
        pages = await gather_all(self._staff_chunk(chunk) for chunk in chunks(ids, self.batch_size))
        return [staff for page in pages for staff in page]

    async def _staff_chunk(self, ids: Sequence[int]) -> list[StaffDetail]:
        body = await self.http.post_read_json("/api/staff", list(ids))
        return parse_list(StaffDetail, body, upstream=self.name, what="staff")

    async def agency(self, agency_id: str) -> Agency | None:
        """A prison (or other agency) by code; None if prison-api does not know it."""
        try:
            body = await self.http.get_json(f"/api/agencies/{quote(agency_id, safe='')}")
        except UpstreamNotFound:
            return None
        if body is None:  # 204: nothing to say about it
            return None
        return parse_one(Agency, body, upstream=self.name, what="agency")

    async def movements_on(self, date: dt.date) -> list[Movement]:
        """The latest movement of each booking that moved on `date`."""
        body = await self.http.get_json("/api/movements", params={"movementDate": date.isoformat()})
        return parse_list(Movement, body, upstream=self.name, what="movements")

    async def latest_movements(
        self, prisoner_numbers: Sequence[str], movement_types: Sequence[str]
    ) -> list[Movement]:
        """The latest movement of the given types for each prisoner (in concurrent chunks)."""
        numbers = unique(prisoner_numbers)
        if not numbers:
            return []
        params = [("movementTypes", kind) for kind in unique(movement_types)]
        params.append(("latestOnly", "true"))
        pages = await gather_all(
            self._movements_chunk(chunk, params) for chunk in chunks(numbers, self.batch_size)
        )
        return [movement for page in pages for movement in page]

    async def _movements_chunk(
        self, numbers: Sequence[str], params: list[tuple[str, str]]
    ) -> list[Movement]:
        body = await self.http.post_read_json(
            "/api/movements/offenders", list(numbers), params=params
        )
        return parse_list(Movement, body, upstream=self.name, what="offender movements")

    async def ping(self) -> bool:
        """Is prison-api up? (For /health: no token, no retry, no breaker.)"""
        return await self.http.ping()


def _total_records(header: str | None, fallback: int) -> int:
    """Total-Records as an int; without a usable header, what we have is all there is."""
    if header is None:
        return fallback
    try:
        total = int(header)
    except ValueError:
        return fallback
    return total if total >= 0 else fallback
