"""Fake prisoner search: the prison list (a Spring page), batch and single lookups.

Prisoners are served from their cached JSON, so a page or a batch of 1,000
costs a join of byte strings, not a re-serialisation: the benchmark measures
the service, not this fake.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

from allocation_api.sandbox.data import PRISONER_NUMBER
from allocation_api.sandbox.server import BadRequest, FakeUpstream, json_response, read_json

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 2000
"""Spring's default cap: a bigger `size` is silently reduced to this."""
MAX_BATCH = 1000
_UNSORTED = {"empty": True, "sorted": False, "unsorted": True}


class PrisonerSearch(FakeUpstream):
    """The prison list, the batch lookup by prisoner numbers and the single lookup."""

    name = "prisoner-search"

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/prisoner-search/prison/{prisonId}", self.prison)
        router.add_post("/prisoner-search/prisoner-numbers", self.prisoner_numbers)
        router.add_get("/prisoner/{prisonerNumber}", self.prisoner)

    def error_body(self, status: int, message: str) -> Mapping[str, Any]:
        return {"status": status, "userMessage": message, "developerMessage": message}

    async def prison(self, request: web.Request) -> web.Response:
        """One Spring page of the prisoners in a prison, ordered by prisoner number."""
        if not request.headers.get("Content-Type", "").startswith("application/json"):
            return self.error(415, "Content-Type 'application/json' is required on this endpoint")
        page = max(0, _query_int(request, "page", 0))
        size = _query_int(request, "size", DEFAULT_PAGE_SIZE)
        size = DEFAULT_PAGE_SIZE if size < 1 else min(size, MAX_PAGE_SIZE)
        total, items = self.data.prison_slice(
            request.match_info["prisonId"], page * size, (page + 1) * size
        )
        if not items:  # no hits, or a page past the end: prisoner search reports no total
            total = 0
        return json_response(spring_page(items, total=total, page=page, size=size))

    async def prisoner_numbers(self, request: web.Request) -> web.Response:
        """Batch lookup: a bare array, unknown numbers absent, not in request order."""
        body = await read_json(request)
        numbers = body.get("prisonerNumbers") if isinstance(body, dict) else None
        if not isinstance(numbers, list) or not all(isinstance(n, str) for n in numbers):
            raise BadRequest("prisonerNumbers must be a list of prisoner numbers")
        if not 1 <= len(numbers) <= MAX_BATCH:
            raise BadRequest(f"prisonerNumbers must contain between 1 and {MAX_BATCH} numbers")
        found = sorted(
            (self.data.prisoner_json(n) for n in set(numbers)),
            key=lambda raw: raw or b"",
            reverse=True,
        )
        return json_response(b"[" + b",".join(raw for raw in found if raw) + b"]")

    async def prisoner(self, request: web.Request) -> web.Response:
        """One prisoner, or 404 in prisoner search's error shape."""
        number = request.match_info["prisonerNumber"]
        raw = self.data.prisoner_json(number) if PRISONER_NUMBER.fullmatch(number) else None
        if raw is None:
            return self.error(404, f"Prisoner {number} not found")
        return json_response(raw)


def spring_page(items: list[bytes], *, total: int, page: int, size: int) -> bytes:
    """A Spring Data page around pre-serialised `items`, keys in Spring's order."""
    total_pages = -(-total // size) if total else 0
    rest = orjson.dumps(
        {
            "pageable": {
                "pageNumber": page,
                "pageSize": size,
                "sort": _UNSORTED,
                "offset": page * size,
                "paged": True,
                "unpaged": False,
            },
            "totalElements": total,
            "totalPages": total_pages,
            "last": page >= total_pages - 1,
            "size": size,
            "number": page,
            "sort": _UNSORTED,
            "numberOfElements": len(items),
            "first": page == 0,
            "empty": not items,
        }
    )
    return b'{"content":[' + b",".join(items) + b"]," + rest[1:]


def _query_int(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"Parameter '{name}' must be an integer, got '{raw}'") from None
