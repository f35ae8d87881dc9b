"""Allocation reads (owned data only: these keep working when NOMIS is down)."""

from __future__ import annotations

from allocation_api.context import RequestContext
from allocation_api.schema import mapping
from allocation_api.schema import types as t


async def allocation(ctx: RequestContext, offender_no: str) -> t.Allocation | None:
    row = await ctx.loaders.allocation(offender_no)
    return None if row is None else mapping.allocation(row)


async def history(ctx: RequestContext, offender_no: str) -> list[t.AllocationEvent]:
    rows = await ctx.loaders.events_by_offender_no.load(offender_no)
    return [mapping.event(row) for row in rows]


async def history_of_allocation(ctx: RequestContext, node: t.Allocation) -> list[t.AllocationEvent]:
    return await history(ctx, node.offender_no)
