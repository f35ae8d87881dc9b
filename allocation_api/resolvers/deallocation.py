"""Removing POMs from an allocation row the caller has locked, with its history event.

Shared by the automatic deallocations (release, transfer, legal status,
`lifecycle.py`) and by a POM made inactive (`mutations.py`): same row change,
same version bump, same event shape; only the event type, trigger and actor
differ.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.store import repositories as repo
from allocation_api.store.enums import AllocationEventType, AllocationTrigger
from allocation_api.store.tables import Allocation, AllocationEvent


async def deallocate_locked(
    session: AsyncSession,
    row: Allocation,
    *,
    primary: bool,
    secondary: bool,
    event: AllocationEventType,
    trigger: AllocationTrigger,
    username: str | None,
    name: str | None,
) -> Allocation:
    """Clear the chosen POMs of `row` (locked FOR UPDATE), save it, append its event."""
    previous_primary, previous_secondary = row.primary_pom_staff_id, row.secondary_pom_staff_id
    if primary:
        row.primary_pom_staff_id = row.primary_pom_name = None
        row.primary_pom_allocated_at = None
    if secondary:
        row.secondary_pom_staff_id = row.secondary_pom_name = None
    row.created_by_username = username
    row.created_by_name = name
    saved = await repo.save_allocation(session, row)
    await repo.append_event(
        session,
        AllocationEvent(
            offender_no=saved.offender_no,
            prison_code=saved.prison_code,
            event=event,
            trigger=trigger,
            primary_pom_staff_id=saved.primary_pom_staff_id,
            primary_pom_name=saved.primary_pom_name,
            secondary_pom_staff_id=saved.secondary_pom_staff_id,
            secondary_pom_name=saved.secondary_pom_name,
            previous_primary_pom_staff_id=previous_primary,
            previous_secondary_pom_staff_id=previous_secondary,
            allocated_at_tier=saved.allocated_at_tier,
            recommended_pom_type=saved.recommended_pom_type,
            created_by_username=username,
            created_by_name=name,
            allocation_version=saved.version,
        ),
    )
    return saved
