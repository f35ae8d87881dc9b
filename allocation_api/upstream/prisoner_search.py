"""Typed reads from prisoner search: the live source of prisoner facts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final
from urllib.parse import quote

from allocation_api.errors import UpstreamNotFound
from allocation_api.upstream.batching import chunks, gather_all, unique
from allocation_api.upstream.http import UpstreamHttp
from allocation_api.upstream.models import Prisoner, PrisonerPage
from allocation_api.upstream.parsing import parse_json, parse_list, parse_one

MAX_NUMBERS_PER_REQUEST: Final = 1000
"""Prisoner search answers 400 to a batch of more numbers than this."""

ALL_PAGE_SIZE: Final = 2000
"""Page size when reading a whole prison: a big prison fits in one or two pages."""


class PrisonerSearchClient:
    """Reads prisoners one by one, by batch of numbers, and by prison."""

    def __init__(
        self,
        http: UpstreamHttp,
        *,
        batch_size: int = 500,
        all_page_size: int = ALL_PAGE_SIZE,
    ) -> None:
        self.http = http
        self.batch_size = min(batch_size, MAX_NUMBERS_PER_REQUEST)
        self.all_page_size = all_page_size

    @property
    def name(self) -> str:
        return self.http.name

    async def get_prisoner(self, prisoner_number: str) -> Prisoner | None:
        """One prisoner by number; None if prisoner search does not know it."""
        try:
            body = await self.http.get_json(f"/prisoner/{quote(prisoner_number, safe='')}")
        except UpstreamNotFound:
            return None
        if body is None:  # 204: nothing to say about it
            return None
        return parse_one(Prisoner, body, upstream=self.name, what="prisoner")

    async def prisoners_by_numbers(self, prisoner_numbers: Sequence[str]) -> list[Prisoner]:
        """The known prisoners among `prisoner_numbers`, in the order asked for.

        The batch read that avoids N+1: numbers are deduplicated and sent in
        concurrent chunks of `batch_size`; unknown numbers are simply absent.
        """
        numbers = unique(prisoner_numbers)
        if not numbers:
            return []
        pages = await gather_all(
            self._by_numbers(chunk) for chunk in chunks(numbers, self.batch_size)
        )
        found = {prisoner.prisonerNumber: prisoner for page in pages for prisoner in page}
        return [found[number] for number in numbers if number in found]

    async def _by_numbers(self, numbers: Sequence[str]) -> list[Prisoner]:
        body = await self.http.post_read_json(
            "/prisoner-search/prisoner-numbers", {"prisonerNumbers": list(numbers)}
        )
        return parse_list(Prisoner, body, upstream=self.name, what="prisoner-numbers")

    async def prisoners_in_prison(
        self, prison_id: str, *, page: int = 0, size: int = 10
    ) -> PrisonerPage:
        """One page (from 0) of the prisoners in a prison.

        Validated from the raw bytes: a 2000-prisoner page costs about a third
        less CPU that way than decoded to dicts and validated after.
        """
        raw = await self.http.get_json_bytes(
            f"/prisoner-search/prison/{quote(prison_id, safe='')}",
            params={"page": page, "size": size},
        )
        if raw is None:
            return PrisonerPage(number=page, size=size)
        return parse_json(PrisonerPage, raw, upstream=self.name, what="prison page")

    async def all_prisoners_in_prison(self, prison_id: str) -> list[Prisoner]:
        """Every prisoner in a prison: the first big page, then the rest concurrently."""
        first = await self.prisoners_in_prison(prison_id, page=0, size=self.all_page_size)
        # Page by the size the upstream says it used, in case it capped ours.
        size = first.size or self.all_page_size
        pages = max(first.totalPages, math.ceil(first.totalElements / size))
        rest = await gather_all(
            self.prisoners_in_prison(prison_id, page=number, size=size)
            for number in range(1, pages)
        )
        return [prisoner for page in (first, *rest) for prisoner in page.content]

    async def ping(self) -> bool:
        """Is prisoner search up? (For /health: no token, no retry, no breaker.)"""
        return await self.http.ping()
