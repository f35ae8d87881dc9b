"""`Handover.stored` and `Handover.differsFromStored`: the stored handover in the graph.

Resolved only when asked for (one batched statement per request for all the
prisoners that ask), so pages that do not select them cost nothing more.
The stored row is the prisoner's data, reached through the prisoner's
handover, so it inherits that decision as the handover's other fields do.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry
from strawberry.types import Info

from allocation_api.resolvers import handovers as handover_resolvers
from allocation_api.schema.enums import Responsibility
from allocation_api.schema.permissions import INHERIT
from allocation_api.store.views import CalculatedHandoverView


@strawberry.type(
    description="The handover as last calculated and stored (what other services read)."
)
class StoredHandover:
    responsibility: Responsibility = strawberry.field(metadata=INHERIT)
    handover_date: dt.date | None = strawberry.field(metadata=INHERIT)
    start_date: dt.date | None = strawberry.field(metadata=INHERIT)
    reason: str = strawberry.field(metadata=INHERIT)
    last_calculated_at: dt.datetime = strawberry.field(
        metadata=INHERIT, description="When the stored values were calculated."
    )


def stored_handover(row: CalculatedHandoverView) -> StoredHandover:
    return StoredHandover(
        responsibility=row.responsibility,
        handover_date=row.handover_date,
        start_date=row.start_date,
        reason=row.reason,
        last_calculated_at=row.last_calculated_at,
    )


async def resolve_stored(root: Any, info: Info) -> StoredHandover | None:
    """The stored row of the handover's prisoner (None when none is stored)."""
    if root.offender_no is None:
        return None
    row = await handover_resolvers.stored_handover(info.context, root.offender_no)
    return None if row is None else stored_handover(row)


async def resolve_differs(root: Any, info: Info) -> bool | None:
    """True when the stored values differ from the live ones; None when none is stored."""
    if root.offender_no is None or root.live is None:
        return None
    row = await handover_resolvers.stored_handover(info.context, root.offender_no)
    return None if row is None else handover_resolvers.differs(row, root.live)
