"""Query and Mutation: the graph's entry points and their permission decisions.

A mutation turns its input into a command (`to_command`, which parses the
values), runs the command (`commands/`) with a fresh unit of work, maps the
changed row to its type, and answers an expected failure as a payload member;
then it drops the request's memoised reads of what the command changed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry

from allocation_api.commands.actor import Actor
from allocation_api.commands.allocate import allocate_primary, allocate_secondary
from allocation_api.commands.case_information import update_case_information
from allocation_api.commands.deallocate import deallocate
from allocation_api.commands.parole_review import record_parole_review, update_parole_review
from allocation_api.commands.pom_details import update_pom_details
from allocation_api.commands.responsibility_override import (
    remove_responsibility_override,
    set_responsibility_override,
)
from allocation_api.commands.unit_of_work import UnitOfWork
from allocation_api.errors import DomainError, UpstreamError
from allocation_api.resolvers import poms as pom_resolvers
from allocation_api.resolvers import prisoners as prisoner_resolvers
from allocation_api.resolvers import prisons as prison_resolvers
from allocation_api.resolvers.context import RequestContext
from allocation_api.resolvers.loaders import forget
from allocation_api.schema import case_facts, types, values
from allocation_api.schema.inputs import (
    AllocatePrimaryPomInput,
    AllocateSecondaryPomInput,
    CaseInformationInput,
    DeallocateInput,
    PomDetailsInput,
    RecordParoleReviewInput,
    RemoveResponsibilityOverrideInput,
    SetResponsibilityOverrideInput,
    UpdateParoleReviewInput,
)
from allocation_api.schema.parse import check_offender_no
from allocation_api.schema.payloads import (
    AllocationPayload,
    CaseInformationPayload,
    ErrorMember,
    ParoleReviewPayload,
    PomPayload,
    RemoveResponsibilityOverridePayload,
    ResponsibilityOverridePayload,
    error_member,
)
from allocation_api.schema.permissions import (
    CanReadPom,
    CanReadPrison,
    CanReadPrisoner,
    IsAllocationManager,
)
from allocation_api.schema.types import Info, Pom, Prison, Prisoner
from allocation_api.store.failures import StoreConstraintViolation
from allocation_api.upstream import Upstreams

C = TypeVar("C")
R = TypeVar("R")
P = TypeVar("P")

Command = Callable[[C, UnitOfWork, Upstreams, Actor, RequestContext], Awaitable[R]]


async def _execute(
    ctx: RequestContext, parse: Callable[[], C], run: Command[C, R], to_type: Callable[[R], P]
) -> P | ErrorMember:
    """Parse, run and map one command; an expected failure becomes its payload member."""
    uow = UnitOfWork(ctx.sessions, idempotency_retention=ctx.settings.idempotency_retention)
    # Writes check the caller's caseloads as NOMIS has them now, never cached ones.
    actor = Actor(ctx.identity, ctx.caseloads_for_write)
    try:
        changed = await run(parse(), uow, ctx.services.upstreams, actor, ctx)
    except (DomainError, UpstreamError, StoreConstraintViolation) as error:
        return error_member(error)
    finally:
        _forget_changed(ctx, uow)
    return to_type(changed)


def _forget_changed(ctx: RequestContext, uow: UnitOfWork) -> None:
    """Drop the request's memoised reads of what the command wrote."""
    loaders = ctx.loaders
    for offender_no in uow.allocations_changed:
        forget(loaders.owned_by_offender_no, offender_no)
        forget(loaders.events_by_offender_no, offender_no)
    for offender_no in uow.case_information_changed | uow.owned_changed:
        forget(loaders.owned_by_offender_no, offender_no)
        ctx.handovers.pop(offender_no, None)
    for key in uow.pom_details_changed:
        forget(loaders.pom_detail_by_key, key)
        forget(loaders.caseload_by_staff_and_prison, key)


@strawberry.type
class Query:
    @strawberry.field(
        permission_classes=[CanReadPrison],
        description="A prison by agency code (e.g. LEI); null if there is no such prison.",
    )
    async def prison(self, info: Info, code: str) -> Prison | None:
        agency = await prison_resolvers.prison(info.context, code.strip().upper())
        return None if agency is None else types.prison(agency)

    @strawberry.field(
        permission_classes=[CanReadPrisoner],
        description="A prisoner by number (e.g. A1234BC); null if neither NOMIS nor we know it.",
    )
    async def prisoner(self, info: Info, offender_no: str) -> Prisoner | None:
        no = check_offender_no(offender_no)
        return types.prisoner_node(no, await prisoner_resolvers.prisoner(info.context, no))

    @strawberry.field(
        permission_classes=[CanReadPom],
        description="A POM at a prison; null unless the staff member holds the POM role there.",
    )
    async def pom(self, info: Info, staff_id: int, prison_code: str) -> Pom | None:
        found = await pom_resolvers.pom(info.context, staff_id, prison_code.strip().upper())
        return None if found is None else types.pom(found)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        permission_classes=[IsAllocationManager],
        description="Allocate (or reallocate) the primary POM of a prisoner.",
    )
    async def allocate_primary_pom(
        self,
        info: Info,
        input: AllocatePrimaryPomInput,
    ) -> AllocationPayload:
        return await _execute(info.context, input.to_command, allocate_primary, types.allocation)

    @strawberry.mutation(
        permission_classes=[IsAllocationManager],
        description="Allocate (or replace) the co-working POM; needs a primary POM.",
    )
    async def allocate_secondary_pom(
        self,
        info: Info,
        input: AllocateSecondaryPomInput,
    ) -> AllocationPayload:
        return await _execute(info.context, input.to_command, allocate_secondary, types.allocation)

    @strawberry.mutation(
        permission_classes=[IsAllocationManager],
        description="Remove the primary POM; a co-working POM stays.",
    )
    async def deallocate_primary_pom(
        self,
        info: Info,
        input: DeallocateInput,
    ) -> AllocationPayload:
        return await _execute(
            info.context, lambda: input.to_command(primary=True), deallocate, types.allocation
        )

    @strawberry.mutation(
        permission_classes=[IsAllocationManager], description="Remove the co-working POM."
    )
    async def deallocate_secondary_pom(
        self,
        info: Info,
        input: DeallocateInput,
    ) -> AllocationPayload:
        return await _execute(
            info.context, lambda: input.to_command(primary=False), deallocate, types.allocation
        )

    @strawberry.mutation(
        permission_classes=[IsAllocationManager],
        description="Record case information (tier, probation service, MAPPA, COM).",
    )
    async def update_case_information(
        self,
        info: Info,
        input: CaseInformationInput,
    ) -> CaseInformationPayload:
        return await _execute(
            info.context, input.to_command, update_case_information, values.case_information
        )

    @strawberry.mutation(
        permission_classes=[IsAllocationManager],
        description="Record a POM's working pattern and status; INACTIVE releases their cases.",
    )
    async def update_pom_details(
        self,
        info: Info,
        input: PomDetailsInput,
    ) -> PomPayload:
        return await _execute(info.context, input.to_command, update_pom_details, types.pom)

    @strawberry.mutation(
        permission_classes=[IsAllocationManager],
        description=(
            "Force responsibility to PRISON or PROBATION (it wins over the handover "
            "calculation); replaces an existing override."
        ),
    )
    async def set_responsibility_override(
        self,
        info: Info,
        input: SetResponsibilityOverrideInput,
    ) -> ResponsibilityOverridePayload:
        return await _execute(
            info.context,
            input.to_command,
            set_responsibility_override,
            case_facts.responsibility_override,
        )

    @strawberry.mutation(
        permission_classes=[IsAllocationManager],
        description="Remove the responsibility override; the calculated responsibility applies.",
    )
    async def remove_responsibility_override(
        self,
        info: Info,
        input: RemoveResponsibilityOverrideInput,
    ) -> RemoveResponsibilityOverridePayload:
        return await _execute(
            info.context,
            input.to_command,
            remove_responsibility_override,
            case_facts.override_removed,
        )

    @strawberry.mutation(
        permission_classes=[IsAllocationManager],
        description="Record a parole review for the prisoner's current sentence.",
    )
    async def record_parole_review(
        self,
        info: Info,
        input: RecordParoleReviewInput,
    ) -> ParoleReviewPayload:
        return await _execute(
            info.context, input.to_command, record_parole_review, case_facts.parole_review
        )

    @strawberry.mutation(
        permission_classes=[IsAllocationManager],
        description="Replace the fields of a recorded parole review.",
    )
    async def update_parole_review(
        self,
        info: Info,
        input: UpdateParoleReviewInput,
    ) -> ParoleReviewPayload:
        return await _execute(
            info.context, input.to_command, update_parole_review, case_facts.parole_review
        )
