"""allocatePrimaryPom and allocateSecondaryPom: apply the allocation rules, then
write the row and its history event in one transaction (`allocation_change.py`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.commands import checks
from allocation_api.commands.actor import Actor, display_name
from allocation_api.commands.allocation_change import Replay, change_allocation, user_event
from allocation_api.commands.handover import recalculate_handover
from allocation_api.commands.unit_of_work import UnitOfWork
from allocation_api.errors import NotAllowed
from allocation_api.resolvers.context import RequestContext
from allocation_api.resolvers.prisoners import recommended_pom_type
from allocation_api.rules.eligibility import in_prison_list, is_omic_eligible
from allocation_api.rules.override import OverrideReason, validate_override
from allocation_api.rules.pom_type import pom_type_for_position
from allocation_api.store.enums import AllocationEventType
from allocation_api.store.tables import Allocation, AllocationEvent
from allocation_api.upstream import Upstreams


@dataclass(frozen=True, slots=True)
class AllocatePrimary:
    offender_no: str
    staff_id: int
    override_reasons: tuple[OverrideReason, ...] = ()
    override_detail: str | None = None
    suitability_detail: str | None = None
    message: str | None = None
    expected_version: int | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class AllocateSecondary:
    offender_no: str
    staff_id: int
    message: str | None = None
    expected_version: int | None = None
    idempotency_key: str | None = None


async def allocate_primary(
    command: AllocatePrimary,
    uow: UnitOfWork,
    upstreams: Upstreams,
    actor: Actor,
    reads: RequestContext,
) -> Allocation:
    """Allocate (or reallocate) the primary POM; returns the written row."""
    offender_no, staff_id = command.offender_no, command.staff_id
    prisoner = await checks.fresh_prisoner(reads, upstreams, actor, offender_no)
    prison = await actor.require_prison(prisoner.prisonId)
    if not (in_prison_list(prisoner) and is_omic_eligible(prisoner, reads.today)):
        raise NotAllowed(
            f"{offender_no} is not in scope of OMiC (age, legal status or sentence)",
            code="PRISONER_NOT_ELIGIBLE",
        )
    case_info = await reads.loaders.case_information(offender_no)
    if case_info is None or case_info.tier is None:
        raise NotAllowed(
            f"{offender_no} needs case information with a tier before allocation",
            code="CASE_INFORMATION_REQUIRED",
        )
    tier = case_info.tier
    role = await checks.active_pom(reads, upstreams, staff_id, prison)
    recommended = await recommended_pom_type(reads, prisoner)
    chosen = pom_type_for_position(role.position)
    reasons = validate_override(
        chosen,
        recommended,
        list(command.override_reasons),
        command.suitability_detail,
        command.override_detail,
    )
    actor_name = await display_name(actor, upstreams, reads.services.caches)
    fingerprint = checks.fingerprint(
        "allocatePrimaryPom",
        {
            "offenderNo": offender_no,
            "staffId": staff_id,
            "reasons": [r.value for r in reasons],
            "overrideDetail": command.override_detail,
            "suitabilityDetail": command.suitability_detail,
            "message": command.message,
        },
    )

    async def change(session: AsyncSession, row: Allocation) -> AllocationEvent:
        name = checks.name_of(role)
        if row.primary_pom_staff_id == staff_id and row.prison_code == prison:
            raise NotAllowed(f"{name} is already the POM", code="ALREADY_PRIMARY_POM")
        moved = row.prison_code != prison
        if row.secondary_pom_staff_id == staff_id and not moved:
            raise NotAllowed(
                f"{name} is the co-working POM: deallocate them first",
                code="SAME_AS_SECONDARY_POM",
            )
        previous_primary, previous_secondary = row.primary_pom_staff_id, row.secondary_pom_staff_id
        event_type = (
            AllocationEventType.REALLOCATE_PRIMARY_POM
            if previous_primary
            else AllocationEventType.ALLOCATE_PRIMARY_POM
        )
        row.prison_code = prison
        if moved:
            # A co-worker from the previous prison does not follow the prisoner.
            row.secondary_pom_staff_id = row.secondary_pom_name = None
        row.primary_pom_staff_id = staff_id
        row.primary_pom_name = name
        row.primary_pom_allocated_at = checks.now()
        row.allocated_at_tier = tier
        row.recommended_pom_type = recommended
        row.override_reasons = list(reasons)
        row.override_detail = command.override_detail
        row.suitability_detail = command.suitability_detail
        row.message = command.message
        row.created_by_username = actor.username
        row.created_by_name = actor_name
        await recalculate_handover(session, prisoner, reads.today)  # fresh NOMIS record
        return user_event(
            row,
            event_type,
            previous_primary=previous_primary,
            previous_secondary=previous_secondary,
            override_reasons=list(row.override_reasons),
            override_detail=command.override_detail,
            suitability_detail=command.suitability_detail,
            message=command.message,
        )

    return await change_allocation(
        uow,
        actor,
        offender_no=offender_no,
        prison=prison,
        expected_version=command.expected_version,
        replay=Replay("allocatePrimaryPom", command.idempotency_key, fingerprint),
        change=change,
        pom_staff_id=staff_id,
    )


async def allocate_secondary(
    command: AllocateSecondary,
    uow: UnitOfWork,
    upstreams: Upstreams,
    actor: Actor,
    reads: RequestContext,
) -> Allocation:
    """Allocate (or replace) the co-working POM of a case with a primary POM."""
    offender_no, staff_id = command.offender_no, command.staff_id
    prisoner = await checks.fresh_prisoner(reads, upstreams, actor, offender_no)
    prison = await actor.require_prison(prisoner.prisonId)
    role = await checks.active_pom(reads, upstreams, staff_id, prison)
    actor_name = await display_name(actor, upstreams, reads.services.caches)
    fingerprint = checks.fingerprint(
        "allocateSecondaryPom",
        {"offenderNo": offender_no, "staffId": staff_id, "message": command.message},
    )

    async def change(session: AsyncSession, row: Allocation) -> AllocationEvent:
        if row.primary_pom_staff_id is None or row.prison_code != prison:
            raise NotAllowed(
                f"{offender_no} has no primary POM at {prison}: allocate one first",
                code="NO_PRIMARY_POM",
            )
        if row.primary_pom_staff_id == staff_id:
            raise NotAllowed(
                "The co-working POM must differ from the primary POM", code="SAME_AS_PRIMARY_POM"
            )
        name = checks.name_of(role)
        if row.secondary_pom_staff_id == staff_id:
            raise NotAllowed(f"{name} is already co-working", code="ALREADY_SECONDARY_POM")
        previous = row.secondary_pom_staff_id
        row.secondary_pom_staff_id = staff_id
        row.secondary_pom_name = name
        row.created_by_username = actor.username
        row.created_by_name = actor_name
        await recalculate_handover(session, prisoner, reads.today)  # fresh NOMIS record
        return user_event(
            row,
            AllocationEventType.REALLOCATE_SECONDARY_POM
            if previous
            else AllocationEventType.ALLOCATE_SECONDARY_POM,
            previous_primary=row.primary_pom_staff_id,
            previous_secondary=previous,
            message=command.message,
        )

    return await change_allocation(
        uow,
        actor,
        offender_no=offender_no,
        prison=prison,
        expected_version=command.expected_version,
        replay=Replay("allocateSecondaryPom", command.idempotency_key, fingerprint),
        change=change,
        pom_staff_id=staff_id,
    )
