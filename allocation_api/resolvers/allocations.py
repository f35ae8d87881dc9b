"""Allocation reads (owned data only: these keep working when NOMIS is down)."""

from __future__ import annotations

from collections.abc import Awaitable

from allocation_api.resolvers.context import RequestContext
from allocation_api.store.views import AllocationEventView, AllocationView

# Plain functions handing back the loader's awaitable: no coroutine of their own
# per field and node.


def allocation(ctx: RequestContext, offender_no: str) -> Awaitable[AllocationView | None]:
    return ctx.loaders.allocation(offender_no)


def history(ctx: RequestContext, offender_no: str) -> Awaitable[list[AllocationEventView]]:
    """The prisoner's allocation history, oldest first."""
    return ctx.loaders.events_by_offender_no.load(offender_no)
