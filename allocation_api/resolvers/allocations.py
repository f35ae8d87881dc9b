"""Allocation reads (owned data only: these keep working when NOMIS is down)."""

from __future__ import annotations

from allocation_api.resolvers.context import RequestContext
from allocation_api.store.views import AllocationEventView, AllocationView


async def allocation(ctx: RequestContext, offender_no: str) -> AllocationView | None:
    return await ctx.loaders.allocation(offender_no)


async def history(ctx: RequestContext, offender_no: str) -> list[AllocationEventView]:
    return await ctx.loaders.events_by_offender_no.load(offender_no)
