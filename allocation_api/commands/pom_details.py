"""updatePomDetails: record a POM's working pattern and status at a prison.

A POM made INACTIVE loses every case at that prison in the same transaction
(each case deallocated with trigger INACTIVE_POM).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.commands import checks
from allocation_api.commands.actor import Actor, display_name
from allocation_api.commands.deallocate import deallocate_locked
from allocation_api.commands.unit_of_work import UnitOfWork
from allocation_api.errors import NotFound
from allocation_api.resolvers.context import RequestContext
from allocation_api.resolvers.poms import PomRead, default_working_pattern
from allocation_api.store import guards
from allocation_api.store import repositories as repo
from allocation_api.store.enums import AllocationEventType, AllocationTrigger, PomStatus
from allocation_api.store.tables import PomDetail
from allocation_api.upstream import Upstreams


@dataclass(frozen=True, slots=True)
class UpdatePomDetails:
    staff_id: int
    prison_code: str
    working_pattern: float | None = None
    """None: unchanged."""
    status: PomStatus | None = None
    """None: unchanged."""
    expected_version: int | None = None


async def update_pom_details(
    command: UpdatePomDetails,
    uow: UnitOfWork,
    upstreams: Upstreams,
    actor: Actor,
    reads: RequestContext,
) -> PomRead:
    """Write the POM's details; returns them with the POM's role at the prison."""
    staff_id, prison = command.staff_id, command.prison_code
    await actor.require_prison(prison)
    roles = await checks.fresh_poms(reads, upstreams, prison)
    role = next((r for r in roles if r.staffId == staff_id), None)
    if role is None:
        raise NotFound(f"No POM {staff_id} at {prison}", code="POM_NOT_FOUND")
    actor_name = await display_name(actor, upstreams, reads.services.caches)
    username = actor.username

    change: dict[str, Any] = {"updated_by_username": username}
    if command.working_pattern is not None:
        change["working_pattern"] = command.working_pattern
    if command.status is not None:
        change["status"] = command.status
    defaults = {"working_pattern": default_working_pattern(role), "status": PomStatus.ACTIVE}

    async with uow.transaction() as session:
        # Exclusive: waits for allocations to this POM in flight, and makes later
        # ones wait for this change (they then read the new status).
        await guards.lock_pom(session, staff_id, prison, exclusive=True)
        existing = await repo.lock_pom_detail(session, staff_id, prison)
        was_inactive = existing is not None and existing.status == PomStatus.INACTIVE
        saved = await guards.write_versioned(
            session,
            PomDetail,
            {"staff_id": staff_id, "prison_code": prison},
            create={**defaults, **change},
            change=change,
            expected_version=command.expected_version,
        )
        if saved.status == PomStatus.INACTIVE and not was_inactive:
            await _release_cases(session, staff_id, prison, username, actor_name)
    uow.pom_details_changed.add((staff_id, prison))
    return PomRead(staff_id, prison, role=role, staff=None, detail=saved)


async def _release_cases(
    session: AsyncSession, staff_id: int, prison: str, username: str | None, actor: str | None
) -> None:
    """A POM made inactive loses every case at that prison (trigger INACTIVE_POM)."""
    for row in await repo.lock_cases_of_pom(session, staff_id, prison):
        primary = row.primary_pom_staff_id == staff_id
        await deallocate_locked(
            session,
            row,
            primary=primary,
            secondary=not primary,
            event=AllocationEventType.DEALLOCATE_PRIMARY_POM
            if primary
            else AllocationEventType.DEALLOCATE_SECONDARY_POM,
            trigger=AllocationTrigger.INACTIVE_POM,
            username=username,
            name=actor,
        )
