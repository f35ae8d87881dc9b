"""Allocation reads (owned data only: these keep working when NOMIS is down)."""

from __future__ import annotations

from allocation_api.context import RequestContext
from allocation_api.schema import mapping
from allocation_api.schema import types as t
from allocation_api.schema.permissions import prisoner_refused, prisoner_visible


async def allocation(ctx: RequestContext, offender_no: str) -> t.Allocation | None:
    row = await ctx.loaders.allocation(offender_no)
    return None if row is None else mapping.allocation(row)


async def history(ctx: RequestContext, offender_no: str) -> list[t.AllocationEvent]:
    rows = await ctx.loaders.events_by_offender_no.load(offender_no)
    return [mapping.event(row) for row in rows]


async def history_of_allocation(ctx: RequestContext, node: t.Allocation) -> list[t.AllocationEvent]:
    """An allocation's history: prisoner data, so decided on the prisoner's current prison.

    Its events span prisons (a transferred prisoner's history holds the old
    prison's and the new one's), so it is shown only with the prisoner.
    """
    visible = node.prisoner_visible
    if visible is None:
        visible = await prisoner_visible(ctx, node.offender_no, node)
    if not visible:
        raise prisoner_refused()
    return await history(ctx, node.offender_no)
