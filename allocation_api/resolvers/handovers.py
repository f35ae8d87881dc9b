"""The stored handover (what other services read) beside the live one.

`GET /api/handovers` answers from the stored row; the graph computes the
handover live and says when the two differ (a recalculation is due, or the
rules' inputs moved without a command seeing it).
"""

from __future__ import annotations

from allocation_api.resolvers.context import RequestContext
from allocation_api.rules.handover import Handover
from allocation_api.store.views import CalculatedHandoverView


async def stored_handover(ctx: RequestContext, offender_no: str) -> CalculatedHandoverView | None:
    """The stored row (batched per request); None when none has been stored."""
    return await ctx.loaders.stored_handover_by_offender_no.load(offender_no)


def differs(stored: CalculatedHandoverView, live: Handover) -> bool:
    """Whether the stored values are not the live answer (dates, responsibility, reason)."""
    return (
        stored.start_date != live.start_date
        or stored.handover_date != live.handover_date
        or stored.responsibility != live.responsibility
        or stored.reason != live.reason.value
    )
