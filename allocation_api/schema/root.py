"""Query and Mutation: the graph's entry points and their permission decisions."""

from __future__ import annotations

import strawberry

from allocation_api.context import Info
from allocation_api.resolvers import mutations
from allocation_api.resolvers import poms as pom_resolvers
from allocation_api.resolvers import prisoners as prisoner_resolvers
from allocation_api.resolvers import prisons as prison_resolvers
from allocation_api.schema.inputs import (
    AllocatePrimaryPomInput,
    AllocateSecondaryPomInput,
    CaseInformationInput,
    DeallocateInput,
    PomDetailsInput,
)
from allocation_api.schema.payloads import AllocationPayload, CaseInformationPayload, PomPayload
from allocation_api.schema.permissions import (
    CanReadPom,
    CanReadPrison,
    CanReadPrisoner,
    IsAllocationManager,
)
from allocation_api.schema.types import Pom, Prison, Prisoner


@strawberry.type
class Query:
    @strawberry.field(
        permission_classes=[CanReadPrison],
        description="A prison by agency code (e.g. LEI); null if there is no such prison.",
    )
    async def prison(self, info: Info, code: str) -> Prison | None:
        return await prison_resolvers.prison(info.context, code.strip().upper())

    @strawberry.field(
        permission_classes=[CanReadPrisoner],
        description="A prisoner by number (e.g. A1234BC); null if neither NOMIS nor we know it.",
    )
    async def prisoner(self, info: Info, offender_no: str) -> Prisoner | None:
        return await prisoner_resolvers.prisoner(info.context, offender_no)

    @strawberry.field(
        permission_classes=[CanReadPom],
        description="A POM at a prison; null unless the staff member holds the POM role there.",
    )
    async def pom(self, info: Info, staff_id: int, prison_code: str) -> Pom | None:
        return await pom_resolvers.pom(info.context, staff_id, prison_code.strip().upper())


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
        return await mutations.allocate_primary_pom(info.context, input)  # type: ignore[no-any-return]

    @strawberry.mutation(
        permission_classes=[IsAllocationManager],
        description="Allocate (or replace) the co-working POM; needs a primary POM.",
    )
    async def allocate_secondary_pom(
        self,
        info: Info,
        input: AllocateSecondaryPomInput,
    ) -> AllocationPayload:
        return await mutations.allocate_secondary_pom(info.context, input)  # type: ignore[no-any-return]

    @strawberry.mutation(
        permission_classes=[IsAllocationManager],
        description="Remove the primary POM; a co-working POM stays.",
    )
    async def deallocate_primary_pom(
        self,
        info: Info,
        input: DeallocateInput,
    ) -> AllocationPayload:
        return await mutations.deallocate_primary_pom(info.context, input)  # type: ignore[no-any-return]

    @strawberry.mutation(
        permission_classes=[IsAllocationManager], description="Remove the co-working POM."
    )
    async def deallocate_secondary_pom(
        self,
        info: Info,
        input: DeallocateInput,
    ) -> AllocationPayload:
        return await mutations.deallocate_secondary_pom(info.context, input)  # type: ignore[no-any-return]

    @strawberry.mutation(
        permission_classes=[IsAllocationManager],
        description="Record case information (tier, probation service, MAPPA, COM).",
    )
    async def update_case_information(
        self,
        info: Info,
        input: CaseInformationInput,
    ) -> CaseInformationPayload:
        return await mutations.update_case_information(info.context, input)  # type: ignore[no-any-return]

    @strawberry.mutation(
        permission_classes=[IsAllocationManager],
        description="Record a POM's working pattern and status; INACTIVE releases their cases.",
    )
    async def update_pom_details(
        self,
        info: Info,
        input: PomDetailsInput,
    ) -> PomPayload:
        return await mutations.update_pom_details(info.context, input)  # type: ignore[no-any-return]
