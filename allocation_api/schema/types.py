"""The object types of the graph.

Types declare; resolvers coordinate. Owned and upstream-derived scalars are
plain attributes filled by `schema/mapping.py` (upstream ones may hold an
`Unavailable` marker, see `schema/unavailable.py`); fields that need I/O call
one function in `resolvers/`, which batches through the request's DataLoaders.
Every field carries a permission decision (see `schema/permissions.py`): a
permission class where access depends on the caller, `PRISONER_DATA` where the
resolver decides on the prisoner it yields, or `INHERIT` where the parent
object was already checked.
"""

from __future__ import annotations

import datetime as dt
from typing import cast

import strawberry
from strawberry import Private

from allocation_api.context import Info
from allocation_api.resolvers import allocations as allocation_resolvers
from allocation_api.resolvers import poms as pom_resolvers
from allocation_api.resolvers import prisoners as prisoner_resolvers
from allocation_api.resolvers import prisons as prison_resolvers
from allocation_api.schema.enums import (
    AllocationEventType,
    AllocationTrigger,
    OverrideReason,
    PomStatus,
    PomType,
    PrisonerFilter,
    ProbationService,
    Responsibility,
    Tier,
)
from allocation_api.schema.markers import direct
from allocation_api.schema.permissions import (
    INHERIT,
    PRISONER_DATA,
    CanReadPomCases,
    CanReadPrisonRoll,
)
from allocation_api.store.owned_records import OwnedRecord


@strawberry.type(description="Relay-style page information.")
class PageInfo:
    has_next_page: bool = strawberry.field(metadata=INHERIT)
    has_previous_page: bool = strawberry.field(metadata=INHERIT)
    start_cursor: str | None = strawberry.field(metadata=INHERIT)
    end_cursor: str | None = strawberry.field(metadata=INHERIT)


@strawberry.type(description="Sentence facts as NOMIS holds them (read live from prisoner search).")
class Sentence:
    sentence_start_date: dt.date | None = strawberry.field(metadata=INHERIT)
    release_date: dt.date | None = strawberry.field(metadata=INHERIT)
    confirmed_release_date: dt.date | None = strawberry.field(metadata=INHERIT)
    conditional_release_date: dt.date | None = strawberry.field(metadata=INHERIT)
    automatic_release_date: dt.date | None = strawberry.field(metadata=INHERIT)
    parole_eligibility_date: dt.date | None = strawberry.field(metadata=INHERIT)
    home_detention_curfew_eligibility_date: dt.date | None = strawberry.field(metadata=INHERIT)
    tariff_date: dt.date | None = strawberry.field(metadata=INHERIT)
    licence_expiry_date: dt.date | None = strawberry.field(metadata=INHERIT)
    sentence_expiry_date: dt.date | None = strawberry.field(metadata=INHERIT)
    topup_supervision_expiry_date: dt.date | None = strawberry.field(metadata=INHERIT)
    post_recall_release_date: dt.date | None = strawberry.field(metadata=INHERIT)
    indeterminate: bool | None = strawberry.field(metadata=INHERIT)
    recall: bool | None = strawberry.field(metadata=INHERIT)
    imprisonment_status: str | None = strawberry.field(metadata=INHERIT)
    imprisonment_status_description: str | None = strawberry.field(metadata=INHERIT)


@strawberry.type(description="Case information recorded by this service (one per prisoner).")
class CaseInformation:
    offender_no: str = strawberry.field(metadata=INHERIT)
    tier: Tier | None = strawberry.field(metadata=INHERIT)
    probation_service: ProbationService | None = strawberry.field(metadata=INHERIT)
    manual_entry: bool = strawberry.field(metadata=INHERIT)
    mappa_level: int | None = strawberry.field(metadata=INHERIT)
    crn: str | None = strawberry.field(metadata=INHERIT)
    com_name: str | None = strawberry.field(metadata=INHERIT)
    com_email: str | None = strawberry.field(metadata=INHERIT)
    team_name: str | None = strawberry.field(metadata=INHERIT)
    ldu_code: str | None = strawberry.field(metadata=INHERIT)
    version: int = strawberry.field(metadata=INHERIT)
    updated_at: dt.datetime = strawberry.field(metadata=INHERIT)


@strawberry.type(description="When responsibility passes from the POM to the community (COM).")
class Handover:
    responsibility: Responsibility = strawberry.field(metadata=INHERIT)
    handover_date: dt.date | None = strawberry.field(metadata=INHERIT)
    start_date: dt.date | None = strawberry.field(metadata=INHERIT)
    reason: str = strawberry.field(
        metadata=INHERIT, description="Machine-readable rule that decided."
    )


@strawberry.type(description="A prisoner: live NOMIS data joined with owned allocation data.")
class Prisoner:
    offender_no: str = strawberry.field(metadata=INHERIT)
    first_name: str | None = strawberry.field(metadata=INHERIT)
    last_name: str | None = strawberry.field(metadata=INHERIT)
    date_of_birth: dt.date | None = strawberry.field(metadata=INHERIT)
    prison_id: str | None = strawberry.field(metadata=INHERIT)
    legal_status: str | None = strawberry.field(metadata=INHERIT)
    cell_location: str | None = strawberry.field(metadata=INHERIT)
    category: str | None = strawberry.field(metadata=INHERIT)
    record: Private[object]
    owned: Private[OwnedRecord | None] = None
    """Owned data preloaded by a page resolver; None = load lazily per field."""
    known_poms: Private[dict[tuple[int, str], Pom] | None] = None
    """POMs of this prisoner's allocation, preloaded with `owned` when asked for."""

    # Derived from the NOMIS record only when asked for (most pages ask for neither).
    @strawberry.field(metadata=direct(prisoner_resolvers.sentence_of))
    def sentence(self, info: Info) -> Sentence | None:
        return cast("Sentence | None", prisoner_resolvers.sentence_of(info.context, self))

    @strawberry.field(
        metadata=direct(prisoner_resolvers.omic_eligible_of),
        description="In scope of OMiC: adult, sentenced or immigration, not civil.",
    )
    def omic_eligible(self, info: Info) -> bool | None:
        return prisoner_resolvers.omic_eligible_of(info.context, self)

    # Not `async def`: with `owned` preloaded they answer at once (see resolvers).
    @strawberry.field(metadata=direct(prisoner_resolvers.case_information_of))
    def case_information(self, info: Info) -> CaseInformation | None:
        return cast(
            "CaseInformation | None", prisoner_resolvers.case_information_of(info.context, self)
        )

    @strawberry.field(metadata=direct(prisoner_resolvers.allocation_of))
    def allocation(self, info: Info) -> Allocation | None:
        return cast("Allocation | None", prisoner_resolvers.allocation_of(info.context, self))

    @strawberry.field(metadata=direct(prisoner_resolvers.handover_of))
    def handover(self, info: Info) -> Handover | None:
        return cast("Handover | None", prisoner_resolvers.handover_of(info.context, self))

    @strawberry.field(metadata=direct(prisoner_resolvers.responsibility_of))
    def responsibility(self, info: Info) -> Responsibility | None:
        return cast(
            "Responsibility | None", prisoner_resolvers.responsibility_of(info.context, self)
        )

    @strawberry.field(
        metadata=direct(prisoner_resolvers.recommended_pom_type),
        description="The POM type the rules recommend (needs a tier for determinate cases).",
    )
    async def recommended_pom_type(self, info: Info) -> PomType | None:
        return await prisoner_resolvers.recommended_pom_type(info.context, self)


@strawberry.type
class PrisonerConnection:
    nodes: list[Prisoner] = strawberry.field(metadata=INHERIT)
    page_info: PageInfo = strawberry.field(metadata=INHERIT)
    total_count: int = strawberry.field(metadata=INHERIT)


@strawberry.type(description="Counts of a POM's cases (computed from owned and live data).")
class CaseloadCounts:
    primary: int = strawberry.field(metadata=INHERIT)
    coworking: int = strawberry.field(metadata=INHERIT)
    responsible: int = strawberry.field(metadata=INHERIT)
    supporting: int = strawberry.field(metadata=INHERIT)
    total: int = strawberry.field(metadata=INHERIT)
    new_last_7_days: int = strawberry.field(metadata=INHERIT)
    tier_a: int = strawberry.field(metadata=INHERIT)
    tier_b: int = strawberry.field(metadata=INHERIT)
    tier_c: int = strawberry.field(metadata=INHERIT)
    tier_d: int = strawberry.field(metadata=INHERIT)
    tier_unknown: int = strawberry.field(metadata=INHERIT)
    upcoming_handovers: int = strawberry.field(metadata=INHERIT)


@strawberry.type(description="A Prison Offender Manager at one prison.")
class Pom:
    staff_id: int = strawberry.field(metadata=INHERIT)
    prison_code: str = strawberry.field(metadata=INHERIT)
    first_name: str | None = strawberry.field(metadata=INHERIT)
    last_name: str | None = strawberry.field(metadata=INHERIT)
    email: str | None = strawberry.field(metadata=INHERIT)
    position: str | None = strawberry.field(metadata=INHERIT, description="NOMIS position, PRO/PO.")
    pom_type: PomType | None = strawberry.field(metadata=INHERIT)
    status: PomStatus = strawberry.field(metadata=INHERIT)
    working_pattern: float = strawberry.field(
        metadata=INHERIT, description="Fraction of full time, 0.1 .. 1.0."
    )

    @strawberry.field(permission_classes=[CanReadPomCases])
    async def caseload(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> AllocationConnection:
        return await pom_resolvers.caseload(
            info.context,
            self,
            first,
            after,
            preload=pom_resolvers.caseload_preload_for(info.selected_fields),
        )

    @strawberry.field(permission_classes=[CanReadPomCases])
    async def caseload_counts(self, info: Info) -> CaseloadCounts:
        return await pom_resolvers.caseload_counts(info.context, self)


@strawberry.type(description="One immutable change in a prisoner's allocation history.")
class AllocationEvent:
    event: AllocationEventType = strawberry.field(metadata=INHERIT)
    trigger: AllocationTrigger = strawberry.field(metadata=INHERIT)
    primary_pom_staff_id: int | None = strawberry.field(metadata=INHERIT)
    primary_pom_name: str | None = strawberry.field(metadata=INHERIT)
    secondary_pom_staff_id: int | None = strawberry.field(metadata=INHERIT)
    secondary_pom_name: str | None = strawberry.field(metadata=INHERIT)
    previous_primary_pom_staff_id: int | None = strawberry.field(metadata=INHERIT)
    previous_secondary_pom_staff_id: int | None = strawberry.field(metadata=INHERIT)
    prison_code: str = strawberry.field(metadata=INHERIT)
    allocated_at_tier: Tier | None = strawberry.field(metadata=INHERIT)
    recommended_pom_type: PomType | None = strawberry.field(metadata=INHERIT)
    override_reasons: list[OverrideReason] = strawberry.field(metadata=INHERIT)
    override_detail: str | None = strawberry.field(metadata=INHERIT)
    suitability_detail: str | None = strawberry.field(metadata=INHERIT)
    message: str | None = strawberry.field(metadata=INHERIT)
    created_by: str | None = strawberry.field(metadata=INHERIT, description="Username.")
    created_by_name: str | None = strawberry.field(metadata=INHERIT)
    created_at: dt.datetime = strawberry.field(metadata=INHERIT)
    allocation_version: int = strawberry.field(metadata=INHERIT)


@strawberry.type(description="The current allocation of a prisoner (owned data).")
class Allocation:
    offender_no: str = strawberry.field(metadata=INHERIT)
    prison_code: str = strawberry.field(metadata=INHERIT)
    primary_pom_staff_id: int | None = strawberry.field(metadata=INHERIT)
    primary_pom_name: str | None = strawberry.field(
        metadata=INHERIT, description="The primary POM's name as recorded at allocation."
    )
    primary_pom_allocated_at: dt.datetime | None = strawberry.field(metadata=INHERIT)
    secondary_pom_staff_id: int | None = strawberry.field(metadata=INHERIT)
    secondary_pom_name: str | None = strawberry.field(metadata=INHERIT)
    allocated_at_tier: Tier | None = strawberry.field(metadata=INHERIT)
    recommended_pom_type: PomType | None = strawberry.field(metadata=INHERIT)
    override_reasons: list[OverrideReason] = strawberry.field(metadata=INHERIT)
    override_detail: str | None = strawberry.field(metadata=INHERIT)
    suitability_detail: str | None = strawberry.field(metadata=INHERIT)
    message: str | None = strawberry.field(metadata=INHERIT)
    created_by: str | None = strawberry.field(metadata=INHERIT)
    created_by_name: str | None = strawberry.field(metadata=INHERIT)
    version: int = strawberry.field(metadata=INHERIT)
    updated_at: dt.datetime = strawberry.field(metadata=INHERIT)

    @strawberry.field(
        metadata={**direct(prisoner_resolvers.prisoner_of_allocation), **PRISONER_DATA},
        description=(
            "The prisoner as NOMIS has them now; null, with FORBIDDEN at its path, when the "
            "caller may not see them (e.g. transferred to a prison outside their caseloads)."
        ),
    )
    def prisoner(self, info: Info) -> Prisoner | None:
        return cast(
            "Prisoner | None", prisoner_resolvers.prisoner_of_allocation(info.context, self)
        )

    known_poms: Private[dict[tuple[int, str], Pom] | None] = None
    """POMs preloaded by a page resolver; None = look each up lazily."""
    known_prisoners: Private[dict[str, Prisoner | None] | None] = None
    """Prisoners preloaded by a caseload resolver; None = look each up lazily."""
    prisoner_visible: Private[bool | None] = None
    """Whether the caller may see this allocation's prisoner (`prisoner`,
    `history`), decided by whoever made the object from facts it already read;
    None = decide lazily, on the prisoner's current prison."""

    @strawberry.field(metadata=direct(pom_resolvers.primary_pom_of_allocation))
    def primary_pom(self, info: Info) -> Pom | None:
        return cast("Pom | None", pom_resolvers.primary_pom_of_allocation(info.context, self))

    @strawberry.field(metadata=direct(pom_resolvers.secondary_pom_of_allocation))
    def secondary_pom(self, info: Info) -> Pom | None:
        return cast("Pom | None", pom_resolvers.secondary_pom_of_allocation(info.context, self))

    @strawberry.field(
        metadata={**direct(allocation_resolvers.history_of_allocation), **PRISONER_DATA},
        description="Null, with FORBIDDEN at its path, when the caller may not see the prisoner.",
    )
    async def history(self, info: Info) -> list[AllocationEvent] | None:
        return await allocation_resolvers.history_of_allocation(info.context, self)


@strawberry.type
class AllocationConnection:
    nodes: list[Allocation] = strawberry.field(metadata=INHERIT)
    page_info: PageInfo = strawberry.field(metadata=INHERIT)
    total_count: int = strawberry.field(metadata=INHERIT)


@strawberry.type(description="Counts over the prison's prisoners in scope of OMiC.")
class PrisonSummary:
    total: int = strawberry.field(metadata=INHERIT)
    allocated: int = strawberry.field(metadata=INHERIT)
    unallocated: int = strawberry.field(metadata=INHERIT)
    missing_case_information: int = strawberry.field(metadata=INHERIT)


@strawberry.type(description="A prison (agency) and the allocation work in it.")
class Prison:
    code: str = strawberry.field(metadata=INHERIT)
    name: str = strawberry.field(metadata=INHERIT)

    @strawberry.field(
        permission_classes=[CanReadPrisonRoll],
        description=(
            "Prisoners in scope of OMiC (legal status SENTENCED, INDETERMINATE_SENTENCE, RECALL "
            "or IMMIGRATION_DETAINEE and eligible), ordered by last name, first name, number."
        ),
    )
    async def prisoners(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: PrisonerFilter | None = None,
    ) -> PrisonerConnection:
        return await prison_resolvers.prisoners(
            info.context,
            self.code,
            first,
            after,
            filter or PrisonerFilter.ALL,
            preload=prison_resolvers.preload_for(info.selected_fields),
        )

    @strawberry.field(metadata=INHERIT, description="Staff holding the POM role at this prison.")
    async def poms(self, info: Info) -> list[Pom]:
        return await pom_resolvers.poms_at(info.context, self.code)

    @strawberry.field(metadata=INHERIT)
    async def summary(self, info: Info) -> PrisonSummary:
        return await prison_resolvers.summary(info.context, self.code)
