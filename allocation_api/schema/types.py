"""The graph's entity types (prisoner, allocation, POM, prison) and their mapping
from rows, records and rule answers.

Types declare; resolvers read. Owned and upstream-derived scalars are plain
attributes filled by the constructors at the end of this module (upstream
ones may hold an `Unavailable` marker, see `schema/unavailable.py`); fields
that need I/O call one read in `resolvers/`, which batches through the
request's DataLoaders and returns rows, and map its answer here. The field
functions, the classes and the constructors share this module because they
refer to each other (a prisoner's allocation, an allocation's prisoner):
one module keeps the imports one-way. Value types without fields to
resolve are in `values.py`. Every field carries a permission
decision (see `schema/permissions.py`): a permission class where access
depends on the caller, `PRISONER_DATA` where the field function decides on
the prisoner it yields, or `INHERIT` where the parent object was already
checked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Sequence
from typing import Any, TypeAlias, cast

import orjson
import strawberry
from strawberry import Private
from strawberry.types.nodes import Selection

from allocation_api.errors import AllocationApiError
from allocation_api.resolvers import allocations as allocation_resolvers
from allocation_api.resolvers import case_history as case_history_resolvers
from allocation_api.resolvers import poms as pom_resolvers
from allocation_api.resolvers import prisoners as prisoner_resolvers
from allocation_api.resolvers import prisons as prison_resolvers
from allocation_api.resolvers import rest_reads
from allocation_api.resolvers.context import RequestContext
from allocation_api.resolvers.poms import NotRead, PomRead
from allocation_api.resolvers.prisoners import PrisonerRead
from allocation_api.rules.pom_type import pom_type_for_position
from allocation_api.schema import case_facts, selections, values
from allocation_api.schema.case_facts import ParoleReview, ResponsibilityOverrideType
from allocation_api.schema.enums import (
    OverrideReason,
    PomStatus,
    PomType,
    PrisonerFilter,
    Responsibility,
    Tier,
)
from allocation_api.schema.markers import direct
from allocation_api.schema.permissions import (
    INHERIT,
    PRISONER_DATA,
    CanReadPomCases,
    CanReadPrisonRoll,
    prisoner_refused,
    prisoner_visible,
    visible_prisoners,
)
from allocation_api.schema.unavailable import Unavailable
from allocation_api.schema.values import (
    AllocationEvent,
    CaseInformation,
    CaseloadCounts,
    Handover,
    PageInfo,
    PrisonSummary,
    Sentence,
    case_information,
    caseload_counts,
    event,
    handover,
    page_info,
    sentence,
)
from allocation_api.store.case_history import HistoryEntry
from allocation_api.store.owned_records import OwnedRecord
from allocation_api.store.tables import Allocation as AllocationRow
from allocation_api.store.views import AllocationView
from allocation_api.upstream import models as nomis

Info: TypeAlias = strawberry.Info[RequestContext, None]

# --- field functions -----------------------------------------------------------------
# `direct(fn)` fields are resolved by `fn(ctx, node)` on the fast path and by the
# decorated method otherwise. Several answer synchronously when a page resolver
# preloaded what they need (`owned`, `known_poms`, `known_prisoners`), sparing a
# coroutine and a DataLoader round per field and node; otherwise they return the
# awaitable of the lazy path, which graphql-core awaits.


def _record(node: Prisoner) -> nomis.Prisoner:
    record = node.record
    if isinstance(record, AllocationApiError):
        raise record
    assert isinstance(record, nomis.Prisoner)
    return record


def sentence_of(ctx: RequestContext, node: Prisoner) -> Sentence:
    """The sentence facts of a prisoner's NOMIS record (its read error if it failed)."""
    return sentence(_record(node))


def omic_eligible_of(ctx: RequestContext, node: Prisoner) -> bool:
    return prisoner_resolvers.omic_eligible(ctx, _record(node))


def case_information_of(
    ctx: RequestContext, node: Prisoner
) -> CaseInformation | Awaitable[CaseInformation | None] | None:
    owned = node.owned
    if owned is None:
        return _case_information(ctx, node.offender_no)
    row = owned.case_information
    return None if row is None else case_information(row)


async def _case_information(ctx: RequestContext, offender_no: str) -> CaseInformation | None:
    row = await prisoner_resolvers.case_information(ctx, offender_no)
    return None if row is None else case_information(row)


def allocation_of(
    ctx: RequestContext, node: Prisoner
) -> Allocation | Awaitable[Allocation | None] | None:
    owned = node.owned
    if owned is None:
        return _allocation(ctx, node.offender_no)
    row = owned.allocation
    if row is None:
        return None
    found = allocation(row)
    found.known_poms = node.known_poms
    found.prisoner_visible = True  # reached through its prisoner, who was checked
    return found


async def _allocation(ctx: RequestContext, offender_no: str) -> Allocation | None:
    row = await allocation_resolvers.allocation(ctx, offender_no)
    if row is None:
        return None
    found = allocation(row)
    found.prisoner_visible = True  # reached through its prisoner, who was checked
    return found


def handover_of(ctx: RequestContext, node: Prisoner) -> Handover | Awaitable[Handover | None]:
    owned = node.owned
    if owned is None:
        return _handover(ctx, node)
    record = _record(node)
    return handover(
        prisoner_resolvers.known_handover_result(ctx, record, owned), record.prisonerNumber
    )


async def _handover(ctx: RequestContext, node: Prisoner) -> Handover | None:
    record = _record(node)
    return handover(await prisoner_resolvers.handover_result(ctx, record), record.prisonerNumber)


def responsibility_of(
    ctx: RequestContext, node: Prisoner
) -> Responsibility | Awaitable[Responsibility | None]:
    owned = node.owned
    if owned is None:
        return _responsibility(ctx, node)
    result = prisoner_resolvers.known_handover_result(ctx, _record(node), owned)
    return result.responsibility


async def _responsibility(ctx: RequestContext, node: Prisoner) -> Responsibility | None:
    result = await prisoner_resolvers.handover_result(ctx, _record(node))
    return result.responsibility


def responsibility_override_of(
    ctx: RequestContext, node: Prisoner
) -> ResponsibilityOverrideType | Awaitable[ResponsibilityOverrideType | None] | None:
    owned = node.owned
    if owned is None:
        return _responsibility_override(ctx, node.offender_no)
    row = owned.responsibility_override
    return None if row is None else case_facts.responsibility_override(row)


async def _responsibility_override(
    ctx: RequestContext, offender_no: str
) -> ResponsibilityOverrideType | None:
    row = (await prisoner_resolvers.owned_record(ctx, offender_no)).responsibility_override
    return None if row is None else case_facts.responsibility_override(row)


def parole_reviews_of(
    ctx: RequestContext, node: Prisoner
) -> list[ParoleReview] | Awaitable[list[ParoleReview]]:
    owned = node.owned
    if owned is None:
        return _parole_reviews(ctx, node.offender_no)
    return [case_facts.parole_review(row) for row in owned.parole_reviews]


async def _parole_reviews(ctx: RequestContext, offender_no: str) -> list[ParoleReview]:
    owned = await prisoner_resolvers.owned_record(ctx, offender_no)
    return [case_facts.parole_review(row) for row in owned.parole_reviews]


async def recommended_pom_type_of(ctx: RequestContext, node: Prisoner) -> PomType | None:
    return await prisoner_resolvers.recommended_pom_type(ctx, _record(node))


def prisoner_of_allocation(
    ctx: RequestContext, node: Allocation
) -> Prisoner | Awaitable[Prisoner | None] | None:
    """An allocation's prisoner, if the caller may see them (else FORBIDDEN at the field).

    An allocation can be reached from a POM the caller may see while its
    prisoner has moved on (a co-working POM stays at the old prison), so the
    prisoner is decided on here, on their current prison, whatever the path.
    At once when the caseload preloaded the prisoner and decided, else batched
    lazily.
    """
    visible = node.prisoner_visible
    if visible is False:
        raise prisoner_refused()
    if visible is None:
        return _checked_prisoner_of_allocation(ctx, node)
    known = node.known_prisoners
    if known is not None and node.offender_no in known:
        return known[node.offender_no]
    return _prisoner_for_case(ctx, node.offender_no)


async def _checked_prisoner_of_allocation(ctx: RequestContext, node: Allocation) -> Prisoner | None:
    if not await prisoner_visible(ctx, node.offender_no, node):
        raise prisoner_refused()
    return await _prisoner_for_case(ctx, node.offender_no)


async def _prisoner_for_case(ctx: RequestContext, offender_no: str) -> Prisoner | None:
    return prisoner_node(offender_no, await prisoner_resolvers.prisoner_for_case(ctx, offender_no))


def _pom_of_allocation(
    ctx: RequestContext, node: Allocation, *, primary: bool
) -> Pom | Awaitable[Pom] | None:
    """An allocation's POM: at once if the page preloaded it, else via `pom_of_case`."""
    staff_id = node.primary_pom_staff_id if primary else node.secondary_pom_staff_id
    if staff_id is None:
        return None
    known = node.known_poms
    if known is not None:
        found = known.get((staff_id, node.prison_code))
        if found is not None:
            return found
    name = node.primary_pom_name if primary else node.secondary_pom_name
    return _pom_of_case(ctx, staff_id, node.prison_code, name)


async def _pom_of_case(
    ctx: RequestContext, staff_id: int, prison_code: str, recorded_name: str | None
) -> Pom:
    return pom(await pom_resolvers.pom_of_case(ctx, staff_id, prison_code, recorded_name))


def primary_pom_of_allocation(ctx: RequestContext, node: Allocation) -> Pom | Awaitable[Pom] | None:
    return _pom_of_allocation(ctx, node, primary=True)


def secondary_pom_of_allocation(
    ctx: RequestContext, node: Allocation
) -> Pom | Awaitable[Pom] | None:
    return _pom_of_allocation(ctx, node, primary=False)


async def history_of_allocation(ctx: RequestContext, node: Allocation) -> list[AllocationEvent]:
    """An allocation's history: prisoner data, so decided on the prisoner's current prison.

    Its events span prisons (a transferred prisoner's history holds the old
    prison's and the new one's), so it is shown only with the prisoner.
    """
    visible = node.prisoner_visible
    if visible is None:
        visible = await prisoner_visible(ctx, node.offender_no, node)
    if not visible:
        raise prisoner_refused()
    return [event(row) for row in await allocation_resolvers.history(ctx, node.offender_no)]


# --- what a page's query selects of its nodes ----------------------------------------

POM_DETAIL_FIELDS = frozenset({"status", "workingPattern"})
"""The Pom fields answered from the owned POM details (the rest come from NOMIS)."""

OWNED_FIELDS = frozenset(
    {
        "caseInformation",
        "allocation",
        "handover",
        "responsibility",
        "recommendedPomType",
        "responsibilityOverride",
        "paroleReviews",
    }
)
"""Prisoner fields answered from the owned record."""


def pom_details_asked(allocations: Sequence[Selection]) -> bool:
    """Whether what these allocations select of their POMs needs the POM details."""
    poms = [
        *selections.children(allocations, "primaryPom"),
        *selections.children(allocations, "secondaryPom"),
    ]
    return bool(selections.names(poms) & POM_DETAIL_FIELDS)


def caseload_preload_for(selected: Sequence[Selection]) -> pom_resolvers.CaseloadPreload:
    """What the `caseload` field being resolved will ask of its nodes."""
    nodes = selections.connection_nodes(selected)
    asked = selections.names(nodes)
    return pom_resolvers.CaseloadPreload(
        # The history is shown only with the prisoner: both need the prisoners' prisons.
        prisoners=bool(asked & {"prisoner", "history"}),
        poms=bool(asked & {"primaryPom", "secondaryPom"}),
        pom_details=pom_details_asked(nodes),
    )


def roster_preload_for(selected: Sequence[Selection]) -> prison_resolvers.Preload:
    """What the `prisoners` field being resolved will ask of its nodes."""
    nodes = selections.connection_nodes(selected)
    owned = bool(selections.names(nodes) & OWNED_FIELDS)
    allocations = selections.children(nodes, "allocation")
    poms = bool(selections.names(allocations) & {"primaryPom", "secondaryPom"})
    return prison_resolvers.Preload(
        owned=owned, poms=owned and poms, pom_details=pom_details_asked(allocations)
    )


# --- the types -------------------------------------------------------------------------


@strawberry.type(
    description="One entry of a prisoner's case history: a change of the allocation"
    " (`source` ALLOCATION, `kind` an allocation event type, `trigger` set) or of an"
    " owned case fact (`source` USER, PROBATION or SYSTEM, `kind` a case event kind)."
)
class CaseHistoryEntry:
    at: dt.datetime = strawberry.field(metadata=INHERIT, description="When it was recorded.")
    kind: str = strawberry.field(metadata=INHERIT)
    source: str = strawberry.field(metadata=INHERIT)
    trigger: str | None = strawberry.field(metadata=INHERIT)
    prison_code: str | None = strawberry.field(metadata=INHERIT)
    by_username: str | None = strawberry.field(metadata=INHERIT)
    by_name: str | None = strawberry.field(metadata=INHERIT)
    detail: str = strawberry.field(
        metadata=INHERIT,
        description="What the change set, as a JSON object (camelCase field names): the"
        " POMs after an allocation change, the command's values for a case fact.",
    )


@strawberry.type
class CaseHistoryConnection:
    nodes: list[CaseHistoryEntry] = strawberry.field(metadata=INHERIT)
    page_info: PageInfo = strawberry.field(metadata=INHERIT)


def case_history_entry(entry: HistoryEntry) -> CaseHistoryEntry:
    return CaseHistoryEntry(
        at=entry.key[0],
        kind=entry.kind,
        source=entry.source,
        trigger=entry.trigger,
        prison_code=entry.prison_code,
        by_username=entry.by_username,
        by_name=entry.by_name,
        detail=orjson.dumps(entry.detail, option=orjson.OPT_SORT_KEYS).decode(),
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
    @strawberry.field(metadata=direct(sentence_of))
    def sentence(self, info: Info) -> Sentence | None:
        return sentence_of(info.context, self)

    @strawberry.field(
        metadata=direct(omic_eligible_of),
        description="In scope of OMiC: adult, sentenced or immigration, not civil.",
    )
    def omic_eligible(self, info: Info) -> bool | None:
        return omic_eligible_of(info.context, self)

    # Not `async def`: with `owned` preloaded they answer at once (see the field functions).
    @strawberry.field(metadata=direct(case_information_of))
    def case_information(self, info: Info) -> CaseInformation | None:
        return cast("CaseInformation | None", case_information_of(info.context, self))

    @strawberry.field(metadata=direct(allocation_of))
    def allocation(self, info: Info) -> Allocation | None:
        return cast("Allocation | None", allocation_of(info.context, self))

    @strawberry.field(metadata=direct(handover_of))
    def handover(self, info: Info) -> Handover | None:
        return cast("Handover | None", handover_of(info.context, self))

    @strawberry.field(metadata=direct(responsibility_of))
    def responsibility(self, info: Info) -> Responsibility | None:
        return cast("Responsibility | None", responsibility_of(info.context, self))

    @strawberry.field(
        metadata=direct(responsibility_override_of),
        description="The manual responsibility override, if one is set (owned data).",
    )
    def responsibility_override(self, info: Info) -> ResponsibilityOverrideType | None:
        return cast(
            "ResponsibilityOverrideType | None", responsibility_override_of(info.context, self)
        )

    @strawberry.field(
        metadata=direct(parole_reviews_of),
        description="Every parole review recorded for the prisoner, in recording order.",
    )
    def parole_reviews(self, info: Info) -> list[ParoleReview]:
        return cast("list[ParoleReview]", parole_reviews_of(info.context, self))

    @strawberry.field(
        metadata=INHERIT,
        description="Allocation changes and changes to owned case facts, newest first"
        " (two SQL statements per page; cursors stay right as entries are added).",
    )
    async def case_history(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> CaseHistoryConnection:
        entries, more = await case_history_resolvers.history_page(
            info.context, self.offender_no, first, after
        )
        nodes = [case_history_entry(entry) for entry in entries]
        return CaseHistoryConnection(
            nodes=nodes,
            page_info=PageInfo(
                has_next_page=more,
                has_previous_page=after is not None,
                start_cursor=case_history_resolvers.encode_history_cursor(entries[0].key)
                if entries
                else None,
                end_cursor=case_history_resolvers.encode_history_cursor(entries[-1].key)
                if entries
                else None,
            ),
        )

    @strawberry.field(
        metadata=direct(recommended_pom_type_of),
        description="The POM type the rules recommend (needs a tier for determinate cases).",
    )
    async def recommended_pom_type(self, info: Info) -> PomType | None:
        return await recommended_pom_type_of(info.context, self)


@strawberry.type
class PrisonerConnection:
    nodes: list[Prisoner] = strawberry.field(metadata=INHERIT)
    page_info: PageInfo = strawberry.field(metadata=INHERIT)
    total_count: int = strawberry.field(metadata=INHERIT)


@strawberry.type(description="A Prison Offender Manager at one prison.")
class Pom:
    staff_id: int = strawberry.field(metadata=INHERIT)
    prison_code: str = strawberry.field(metadata=INHERIT)
    first_name: str | None = strawberry.field(metadata=INHERIT)
    last_name: str | None = strawberry.field(metadata=INHERIT)
    position: str | None = strawberry.field(metadata=INHERIT, description="NOMIS position, PRO/PO.")
    pom_type: PomType | None = strawberry.field(metadata=INHERIT)
    status: PomStatus = strawberry.field(metadata=INHERIT)
    working_pattern: float = strawberry.field(
        metadata=INHERIT, description="Fraction of full time, 0.1 .. 1.0."
    )

    @strawberry.field(
        metadata=INHERIT,
        description="The POM's email address, from NOMIS user roles (`primaryEmail`);"
        " null when NOMIS holds none. Read only when asked for, one request per POM"
        " not yet in the cross-request cache.",
    )
    async def email(self, info: Info) -> str | None:
        user = await rest_reads.staff_user(info.context, self.staff_id)
        return None if user is None else user.primaryEmail

    @strawberry.field(permission_classes=[CanReadPomCases])
    async def caseload(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> AllocationConnection:
        page = await pom_resolvers.caseload(
            info.context,
            self.staff_id,
            self.prison_code,
            first,
            after,
            preload=caseload_preload_for(info.selected_fields),
        )
        return await allocation_connection(info.context, page)

    @strawberry.field(permission_classes=[CanReadPomCases])
    async def caseload_counts(self, info: Info) -> CaseloadCounts:
        counts = await pom_resolvers.caseload_counts(info.context, self.staff_id, self.prison_code)
        return caseload_counts(counts)


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
        metadata={**direct(prisoner_of_allocation), **PRISONER_DATA},
        description=(
            "The prisoner as NOMIS has them now; null, with FORBIDDEN at its path, when the "
            "caller may not see them (e.g. transferred to a prison outside their caseloads)."
        ),
    )
    def prisoner(self, info: Info) -> Prisoner | None:
        return cast("Prisoner | None", prisoner_of_allocation(info.context, self))

    known_poms: Private[dict[tuple[int, str], Pom] | None] = None
    """POMs preloaded by a page resolver; None = look each up lazily."""
    known_prisoners: Private[dict[str, Prisoner | None] | None] = None
    """Prisoners preloaded by a caseload resolver; None = look each up lazily."""
    prisoner_visible: Private[bool | None] = None
    """Whether the caller may see this allocation's prisoner (`prisoner`,
    `history`), decided by whoever made the object from facts it already read;
    None = decide lazily, on the prisoner's current prison."""

    @strawberry.field(metadata=direct(primary_pom_of_allocation))
    def primary_pom(self, info: Info) -> Pom | None:
        return cast("Pom | None", primary_pom_of_allocation(info.context, self))

    @strawberry.field(metadata=direct(secondary_pom_of_allocation))
    def secondary_pom(self, info: Info) -> Pom | None:
        return cast("Pom | None", secondary_pom_of_allocation(info.context, self))

    @strawberry.field(
        metadata={**direct(history_of_allocation), **PRISONER_DATA},
        description="Null, with FORBIDDEN at its path, when the caller may not see the prisoner.",
    )
    async def history(self, info: Info) -> list[AllocationEvent] | None:
        return await history_of_allocation(info.context, self)


@strawberry.type
class AllocationConnection:
    nodes: list[Allocation] = strawberry.field(metadata=INHERIT)
    page_info: PageInfo = strawberry.field(metadata=INHERIT)
    total_count: int = strawberry.field(metadata=INHERIT)


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
        page = await prison_resolvers.prisoners(
            info.context,
            self.code,
            first,
            after,
            filter or PrisonerFilter.ALL,
            preload=roster_preload_for(info.selected_fields),
        )
        return prisoner_connection(page)

    @strawberry.field(metadata=INHERIT, description="Staff holding the POM role at this prison.")
    async def poms(self, info: Info) -> list[Pom]:
        return [pom(found) for found in await pom_resolvers.poms_at(info.context, self.code)]

    @strawberry.field(metadata=INHERIT)
    async def summary(self, info: Info) -> PrisonSummary:
        counts = await prison_resolvers.summary(info.context, self.code)
        return PrisonSummary(
            total=counts.total,
            allocated=counts.allocated,
            unallocated=counts.unallocated,
            missing_case_information=counts.missing_case_information,
        )


# --- from rows, records and rule answers to types ---------------------------------------
# Pure functions, no I/O.


def prisoner(p: nomis.Prisoner) -> Prisoner:
    return Prisoner(
        offender_no=p.prisonerNumber,
        first_name=p.firstName,
        last_name=p.lastName,
        date_of_birth=p.dateOfBirth,
        prison_id=p.prisonId,
        legal_status=p.legalStatus,
        cell_location=p.cellLocation,
        category=p.category,
        record=p,
    )


def prisoner_unavailable(offender_no: str, error: AllocationApiError) -> Prisoner:
    """A prisoner whose NOMIS data could not be read: owned fields still resolve."""
    gone: Any = Unavailable(error)
    return Prisoner(
        offender_no=offender_no,
        first_name=gone,
        last_name=gone,
        date_of_birth=gone,
        prison_id=gone,
        legal_status=gone,
        cell_location=gone,
        category=gone,
        record=error,
    )


def prisoner_node(offender_no: str, found: PrisonerRead) -> Prisoner | None:
    """A prisoner read: the record, a partial prisoner if NOMIS failed, or None."""
    if found is None:
        return None
    if isinstance(found, AllocationApiError):
        return prisoner_unavailable(offender_no, found)
    return prisoner(found)


def allocation(row: AllocationRow | AllocationView) -> Allocation:
    return Allocation(
        offender_no=row.offender_no,
        prison_code=row.prison_code,
        primary_pom_staff_id=row.primary_pom_staff_id,
        primary_pom_name=row.primary_pom_name,
        primary_pom_allocated_at=row.primary_pom_allocated_at,
        secondary_pom_staff_id=row.secondary_pom_staff_id,
        secondary_pom_name=row.secondary_pom_name,
        allocated_at_tier=values.as_tier(row.allocated_at_tier),
        recommended_pom_type=values.as_pom_type(row.recommended_pom_type),
        override_reasons=values.as_reasons(row.override_reasons),
        override_detail=row.override_detail,
        suitability_detail=row.suitability_detail,
        message=row.message,
        created_by=row.created_by_username,
        created_by_name=row.created_by_name,
        version=row.version,
        updated_at=row.updated_at,
    )


_DETAIL_NOT_READ: Any = Unavailable(AllocationApiError("POM details were not read for this query"))
"""Fills the detail fields of a POM built without its details (one shared marker:
building an exception per POM showed in the page's profile). Never seen by a
client unless a resolver misjudged what the query selects: then the field
errors at its path instead of answering a default that may be wrong."""


def pom(found: PomRead) -> Pom:
    """A POM from its role row (if it still holds the role), staff row and owned details.

    A POM who no longer holds the role (moved on since the allocation) keeps
    the name recorded at allocation when NOMIS no longer knows them. The
    detail is `NOT_READ` when the query asks for none of `POM_DETAIL_FIELDS`.
    """
    if found.error is not None:
        return pom_unavailable(found.staff_id, found.prison_code, found.detail, found.error)
    role, staff, recorded_name = found.role, found.staff, found.recorded_name
    first = role.firstName if role else staff.firstName if staff else None
    last = role.lastName if role else staff.lastName if staff else None
    if first is None and last is None and recorded_name:
        first, _, last = recorded_name.partition(" ")
    status, pattern = _detail_fields(found.detail, role)
    rule_type = pom_type_for_position(role.position if role else None)
    return Pom(
        staff_id=found.staff_id,
        prison_code=found.prison_code,
        first_name=first,
        last_name=last,
        position=role.position if role else None,
        pom_type=rule_type,
        status=status,
        working_pattern=pattern,
    )


def _detail_fields(detail: Any, role: nomis.StaffRole | None) -> tuple[Any, Any]:
    """(status, working pattern): recorded, defaulted from the role, or not read."""
    if isinstance(detail, NotRead):
        return _DETAIL_NOT_READ, _DETAIL_NOT_READ
    if detail is not None:
        return detail.status, float(detail.working_pattern)
    status = PomStatus.ACTIVE if role is not None else PomStatus.INACTIVE
    return status, pom_resolvers.default_working_pattern(role)


def pom_unavailable(staff_id: int, prison_code: str, detail: Any, error: AllocationApiError) -> Pom:
    gone: Any = Unavailable(error)
    # Without NOMIS, a POM with no recorded details is taken as active, full time.
    status, pattern = (
        (PomStatus.ACTIVE, 1.0) if detail is None else _detail_fields(detail, role=None)
    )
    return Pom(
        staff_id=staff_id,
        prison_code=prison_code,
        first_name=gone,
        last_name=gone,
        position=gone,
        pom_type=gone,
        status=status,
        working_pattern=pattern,
    )


async def allocation_connection(
    ctx: RequestContext, page: pom_resolvers.CaseloadPage
) -> AllocationConnection:
    nodes = [allocation(row) for row in page.rows]
    if page.prisoners is not None or page.poms is not None:
        known_prisoners = (
            None
            if page.prisoners is None
            else {no: prisoner_node(no, found) for no, found in page.prisoners.items()}
        )
        known_poms = (
            None if page.poms is None else {key: pom(found) for key, found in page.poms.items()}
        )
        for node in nodes:
            node.known_prisoners = known_prisoners
            node.known_poms = known_poms
        if known_prisoners is not None:
            await _decide_prisoners(ctx, nodes, known_prisoners)
    return AllocationConnection(
        nodes=nodes,
        page_info=page_info(page.start, page.start + len(page.rows), page.total),
        total_count=page.total,
    )


async def _decide_prisoners(
    ctx: RequestContext, nodes: list[Allocation], known: dict[str, Prisoner | None]
) -> None:
    """Decide, for every node of the page, whether the caller may see its prisoner.

    A caseload is at the POM's prison, but a prisoner in it may be elsewhere
    now (a co-working POM stays when the prisoner is transferred): each
    prisoner is decided on their current prison, from the page's one batch of
    prisoners (no call per node). A refused node stays in the page (the
    allocation is the caseload's own, at a prison the caller may see) with
    its `prisoner` and `history` null and FORBIDDEN at their paths.
    """
    visible = await visible_prisoners(
        ctx, [(_live_prison(known.get(node.offender_no)), node) for node in nodes]
    )
    for node, seen in zip(nodes, visible, strict=True):
        node.prisoner_visible = seen


def _live_prison(prisoner: Prisoner | None) -> str | None:
    """The prisoner's NOMIS prison; None when NOMIS did not say (then the allocation decides)."""
    prison = None if prisoner is None else prisoner.prison_id
    return prison if isinstance(prison, str) else None


def prisoner_connection(page: prison_resolvers.RosterPage) -> PrisonerConnection:
    nodes = [prisoner(p) for p in page.prisoners]
    if page.owned is not None:
        for node, record in zip(nodes, page.owned, strict=True):
            node.owned = record
        if page.poms is not None:
            known = {key: pom(found) for key, found in page.poms.items()}
            for node in nodes:
                node.known_poms = known
    return PrisonerConnection(
        nodes=nodes,
        page_info=page_info(page.start, page.start + len(page.prisoners), page.total),
        total_count=page.total,
    )


def prison(agency: nomis.Agency) -> Prison:
    return Prison(code=agency.agencyId, name=agency.description or agency.agencyId)
