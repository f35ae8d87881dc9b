"""Writing domain events into the outbox, in the transaction of the change.

A command calls `allocation_changed` (or, for any other event type,
`add_event`) with the session of its own transaction: the event row commits
or rolls back with the change, so a crash between commit and publication
loses nothing and a rolled-back change publishes nothing.

The payload is the HMPPS domain-event envelope (DOMAIN.md) except that
`detailUrl` is stored as a path: the publisher prefixes the configured base
URL (`events_detail_base_url`), so a row written before a base-URL change is
published with the current one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.rules.vocabulary import AllocationEventType
from allocation_api.store.tables import AllocationEvent, EventOutbox

__all__ = [
    "ALLOCATION_CHANGED",
    "HANDOVER_CHANGED",
    "add_event",
    "allocation_changed",
    "envelope",
    "handover_changed",
    "primary_pom_changed",
]

ALLOCATION_CHANGED = "offender-management.allocation.changed"
HANDOVER_CHANGED = "offender-management.handover.changed"

_PRIMARY_WRITES = frozenset(
    {AllocationEventType.ALLOCATE_PRIMARY_POM, AllocationEventType.REALLOCATE_PRIMARY_POM}
)


def envelope(
    *,
    event_type: str,
    offender_no: str,
    description: str,
    detail_path: str,
    additional_information: dict[str, Any],
    occurred_at: datetime,
    version: int = 1,
) -> dict[str, Any]:
    """The HMPPS envelope, with `detailUrl` still a path (see the module docstring)."""
    return {
        "eventType": event_type,
        "version": version,
        "description": description,
        "detailUrl": detail_path,
        "occurredAt": occurred_at.isoformat(),
        "additionalInformation": additional_information,
        "personReference": {"identifiers": [{"type": "NOMS", "value": offender_no}]},
    }


async def add_event(
    session: AsyncSession,
    *,
    event_type: str,
    offender_no: str,
    description: str,
    detail_path: str,
    additional_information: dict[str, Any],
    version: int = 1,
) -> EventOutbox:
    """Add one event to the outbox inside the caller's transaction (one INSERT at flush).

    Callers hold the prisoner's row lock (the allocation row, or whatever their
    own table's lock is) while they call this, so that the prisoner's events
    take `seq` values in the order their changes commit.
    """
    occurred_at = datetime.now(UTC)
    row = EventOutbox(
        event_id=uuid.uuid4(),
        event_type=event_type,
        offender_no=offender_no,
        payload=envelope(
            event_type=event_type,
            offender_no=offender_no,
            description=description,
            detail_path=detail_path,
            additional_information=additional_information,
            occurred_at=occurred_at,
            version=version,
        ),
        occurred_at=occurred_at,
    )
    session.add(row)
    return row


def primary_pom_changed(event: AllocationEvent) -> bool:
    """Whether a history event changes who (or where) the primary POM is.

    Co-working changes alone leave the primary POM as it was; an allocation of
    the primary POM always changes it (a POM working at two prisons given the
    case again after a transfer changes `prisonId`)."""
    return (
        event.event in _PRIMARY_WRITES
        or event.primary_pom_staff_id != event.previous_primary_pom_staff_id
    )


async def allocation_changed(session: AsyncSession, event: AllocationEvent) -> None:
    """Add `offender-management.allocation.changed` for `event` when the primary POM
    changed (removal included); nothing for co-working changes alone.

    `staffCode` is the new primary POM's staff id as a string, null when the
    primary POM was removed; `eventTrigger` is the trigger in lower case, as the
    real service spells its trigger enum (`user`, `offender_released`, ...).
    """
    if not primary_pom_changed(event):
        return
    staff = event.primary_pom_staff_id
    await add_event(
        session,
        event_type=ALLOCATION_CHANGED,
        offender_no=event.offender_no,
        description="A POM allocation has changed",
        detail_path=f"/api/allocation/{event.offender_no}/primary_pom",
        additional_information={
            "staffCode": None if staff is None else str(staff),
            "prisonId": event.prison_code,
            "eventTrigger": str(event.trigger).lower(),
        },
    )


async def handover_changed(session: AsyncSession, offender_no: str) -> None:
    """Add `offender-management.handover.changed`: the stored handover start date or
    handover date of `offender_no` moved (a first stored handover counts).

    Callers hold the prisoner's handover lock (`commands/handover.py`). The
    envelope names the prisoner only; consumers read the new dates from
    `detailUrl` (`GET /api/handovers/{nomsNumber}`), as from the real service.
    """
    await add_event(
        session,
        event_type=HANDOVER_CHANGED,
        offender_no=offender_no,
        description="Handover date and/or responsibility was updated",
        detail_path=f"/api/handovers/{offender_no}",
        additional_information={},
    )
