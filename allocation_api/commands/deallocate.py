"""deallocatePrimaryPom / deallocateSecondaryPom, and removing POMs from a locked row.

`deallocate_locked` is shared by the automatic deallocations (release,
transfer, legal status: `reconcile.py`) and by a POM made inactive
(`pom_details.py`): same row change, same version bump, same event shape;
only the event type, trigger and actor differ. A user's deallocation goes
through `allocation_change.py` like every user change (idempotency key,
expected version).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.auth import policy
from allocation_api.commands import checks
from allocation_api.commands.actor import Actor, display_name
from allocation_api.commands.allocation_change import Replay, change_allocation, user_event
from allocation_api.commands.unit_of_work import UnitOfWork
from allocation_api.errors import Conflict, NotAllowed, NotFound
from allocation_api.events import outbox
from allocation_api.resolvers.context import RequestContext
from allocation_api.store import repositories as repo
from allocation_api.store.enums import AllocationEventType, AllocationTrigger
from allocation_api.store.tables import Allocation, AllocationEvent
from allocation_api.upstream import Upstreams


@dataclass(frozen=True, slots=True)
class Deallocate:
    offender_no: str
    primary: bool
    """True: the primary POM; False: the co-working POM."""
    expected_version: int | None = None
    idempotency_key: str | None = None

    @property
    def operation(self) -> str:
        return "deallocatePrimaryPom" if self.primary else "deallocateSecondaryPom"


async def deallocate(
    command: Deallocate,
    uow: UnitOfWork,
    upstreams: Upstreams,
    actor: Actor,
    reads: RequestContext,
) -> Allocation:
    """Owned data and the actor's caseloads only: works while prisoner search and
    prison-api are down (NOMIS user roles must answer for the prison check)."""
    offender_no, primary = command.offender_no, command.primary
    current = await reads.loaders.allocation(offender_no)
    if current is None or not policy.can_mutate(
        actor.identity, await actor.caseloads(), current.prison_code
    ):
        # Access first (`fresh_prisoner`'s one refusal), so another prison's callers
        # learn neither who is allocated nor where.
        await checks.fresh_prisoner(reads, upstreams, actor, offender_no)
        if current is None:
            raise NotFound(f"{offender_no} has never been allocated", code="ALLOCATION_NOT_FOUND")
    prison = await actor.require_prison(current.prison_code)
    actor_name = await display_name(actor, upstreams, reads.services.caches)

    async def change(session: AsyncSession, row: Allocation) -> AllocationEvent:
        if row.prison_code != prison:
            raise Conflict(
                "The allocation moved prison meanwhile: read it again",
                code="STALE_VERSION",
                current_version=row.version,
            )
        previous_primary, previous_secondary = row.primary_pom_staff_id, row.secondary_pom_staff_id
        if primary:
            if previous_primary is None:
                raise NotAllowed(f"{offender_no} has no primary POM", code="NO_PRIMARY_POM")
            # The co-working POM stays; the case returns to the unallocated list.
            row.primary_pom_staff_id = row.primary_pom_name = None
            row.primary_pom_allocated_at = None
        else:
            if previous_secondary is None:
                raise NotAllowed(f"{offender_no} has no co-working POM", code="NO_SECONDARY_POM")
            row.secondary_pom_staff_id = row.secondary_pom_name = None
        row.created_by_username = actor.username
        row.created_by_name = actor_name
        return user_event(
            row,
            AllocationEventType.DEALLOCATE_PRIMARY_POM
            if primary
            else AllocationEventType.DEALLOCATE_SECONDARY_POM,
            previous_primary=previous_primary,
            previous_secondary=previous_secondary,
        )

    return await change_allocation(
        uow,
        actor,
        offender_no=offender_no,
        prison=prison,
        expected_version=command.expected_version,
        replay=Replay(
            command.operation,
            command.idempotency_key,
            checks.fingerprint(command.operation, {"offenderNo": offender_no}),
        ),
        change=change,
    )


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
    """Clear the chosen POMs of `row` (locked FOR UPDATE), save it, append its event and,
    when the primary POM goes, the outgoing allocation.changed (`events/outbox.py`)."""
    previous_primary, previous_secondary = row.primary_pom_staff_id, row.secondary_pom_staff_id
    if primary:
        row.primary_pom_staff_id = row.primary_pom_name = None
        row.primary_pom_allocated_at = None
    if secondary:
        row.secondary_pom_staff_id = row.secondary_pom_name = None
    row.created_by_username = username
    row.created_by_name = name
    saved = await repo.save_allocation(session, row)
    history = AllocationEvent(
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
    )
    await repo.append_event(session, history)
    await outbox.allocation_changed(session, history)
    return saved
