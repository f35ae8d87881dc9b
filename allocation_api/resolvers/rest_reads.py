"""The read use cases behind the REST contract other services call (`web/rest.py`).

Each reads through the request's loaders and the shared caches, exactly as
the graph's fields do, so an allocation written through GraphQL is what the
REST answer shows at once and no rule is restated here: the allocation row
comes from the owned-record loader (one statement), the staff member's names
and email from NOMIS user roles through `SharedCaches.user_by_staff_id`, and
early allocation from `owned_facts.facts_from` (the handover rules' own input).
Answers are rows and values; the web layer shapes the JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

from allocation_api.errors import UpstreamError
from allocation_api.resolvers.context import RequestContext
from allocation_api.resolvers.owned_facts import facts_from
from allocation_api.resolvers.prisoners import prisoner
from allocation_api.store.views import AllocationView
from allocation_api.upstream.models import NomisUser


async def allocation(ctx: RequestContext, offender_no: str) -> AllocationView | None:
    """The prisoner's allocation record (owned data only: works while NOMIS is down)."""
    return await ctx.loaders.allocation(offender_no)


async def staff_user(ctx: RequestContext, staff_id: int) -> NomisUser | None:
    """A staff member's NOMIS account (names, email), shared across requests for the
    users TTL; None when NOMIS user roles has no general account for them."""
    users = ctx.services.upstreams.user_roles
    return await ctx.services.caches.user_by_staff_id.get(
        staff_id, lambda: users.user_by_staff_id(staff_id)
    )


@dataclass(frozen=True, slots=True)
class EarlyAllocationStatus:
    offender_no: str
    early_allocation: bool


async def early_allocation_status(
    ctx: RequestContext, offender_no: str
) -> EarlyAllocationStatus | None:
    """Whether the case counts as early allocation now; None when nobody knows the number.

    Needs the NOMIS record (the current sentence's start date decides which
    assessment counts): an upstream failure propagates as `UpstreamError`.
    """
    record = await prisoner(ctx, offender_no)
    if record is None:
        return None
    if isinstance(record, UpstreamError):
        raise record
    owned = await ctx.loaders.owned_by_offender_no.load(record.prisonerNumber)
    facts = facts_from(owned, record, ctx.today)
    return EarlyAllocationStatus(record.prisonerNumber, facts.early_allocation)
