"""Prisoner reads: NOMIS data joined with owned case information and handover."""

from __future__ import annotations

from collections.abc import Awaitable

from allocation_api.context import RequestContext
from allocation_api.errors import AllocationApiError, UpstreamError
from allocation_api.resolvers import allocations as allocation_resolvers
from allocation_api.resolvers.owned_facts import facts_from, facts_key
from allocation_api.rules import eligibility
from allocation_api.rules import handover as handover_rules
from allocation_api.rules import pom_type as pom_type_rules
from allocation_api.rules.handover import Handover as HandoverResult
from allocation_api.rules.responsibility import ResponsibilityOverride
from allocation_api.schema import mapping
from allocation_api.schema import types as t
from allocation_api.schema.enums import PomType, Responsibility
from allocation_api.schema.permissions import (
    check_offender_no,
    prisoner_refused,
    prisoner_visible,
)
from allocation_api.store.owned_records import OwnedRecord
from allocation_api.upstream.models import Prisoner


async def prisoner(ctx: RequestContext, offender_no: str) -> t.Prisoner | None:
    """`prisoner(offenderNo)`: null when neither NOMIS nor the store knows the number.

    When prisoner search fails, a prisoner the store knows still resolves: its
    NOMIS fields are null with an error at each of their paths.
    """
    no = check_offender_no(offender_no)
    try:
        found = await ctx.loaders.prisoner_by_no.load(no)
    except UpstreamError as error:
        owned = await ctx.loaders.owned_by_offender_no.load(no)
        if owned.allocation is None and owned.case_information is None:
            raise
        return mapping.prisoner_unavailable(no, error)
    return None if found is None else mapping.prisoner(found)


async def prisoner_for_case(ctx: RequestContext, offender_no: str) -> t.Prisoner | None:
    """The prisoner of an allocation: partial (NOMIS fields in error) if NOMIS fails."""
    try:
        found = await ctx.loaders.prisoner_by_no.load(offender_no)
    except UpstreamError as error:
        return mapping.prisoner_unavailable(offender_no, error)
    return None if found is None else mapping.prisoner(found)


def prisoner_of_allocation(
    ctx: RequestContext, node: t.Allocation
) -> t.Prisoner | Awaitable[t.Prisoner | None] | None:
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
    return prisoner_for_case(ctx, node.offender_no)


async def _checked_prisoner_of_allocation(
    ctx: RequestContext, node: t.Allocation
) -> t.Prisoner | None:
    if not await prisoner_visible(ctx, node.offender_no, node):
        raise prisoner_refused()
    return await prisoner_for_case(ctx, node.offender_no)


async def case_information(ctx: RequestContext, offender_no: str) -> t.CaseInformation | None:
    row = await ctx.loaders.case_information(offender_no)
    return None if row is None else mapping.case_information(row)


def sentence_of(ctx: RequestContext, node: t.Prisoner) -> t.Sentence:
    """The sentence facts of a prisoner's NOMIS record (its read error if it failed)."""
    return mapping.sentence(_record(node))


def omic_eligible_of(ctx: RequestContext, node: t.Prisoner) -> bool:
    return eligibility.is_omic_eligible(_record(node), ctx.today)


def _record(node: t.Prisoner) -> Prisoner:
    record = node.record
    if isinstance(record, AllocationApiError):
        raise record
    assert isinstance(record, Prisoner)
    return record


def known_handover_result(
    ctx: RequestContext, record: Prisoner, owned: OwnedRecord
) -> HandoverResult:
    """As `handover_result`, for a prisoner whose owned record is already loaded."""
    found = ctx.handovers.get(record.prisonerNumber)
    if found is None:
        today = ctx.today
        found = ctx.services.caches.handovers.get(
            record,
            facts_key(owned, record),
            today,
            lambda: handover_rules.handover(record, facts_from(owned, record), today),
        )
        ctx.handovers[record.prisonerNumber] = found
    return found


async def handover_result(ctx: RequestContext, record: Prisoner) -> HandoverResult:
    """The handover rules' answer for one prisoner, computed once per request.

    Memoised in a plain dict rather than `ctx.once`: no future per prisoner, and
    the rules are pure, so two fields racing for one prisoner only compute twice.
    """
    found = ctx.handovers.get(record.prisonerNumber)
    if found is not None:
        return found
    owned = await ctx.loaders.owned_by_offender_no.load(record.prisonerNumber)
    return known_handover_result(ctx, record, owned)


async def handover(ctx: RequestContext, node: t.Prisoner) -> t.Handover | None:
    return mapping.handover(await handover_result(ctx, _record(node)))


async def recommended_pom_type_for(ctx: RequestContext, record: Prisoner) -> PomType:
    """Recommended POM type: immigration / COM-responsible -> prison; tier A/B -> probation."""
    result = await handover_result(ctx, record)
    owned = await ctx.loaders.owned_by_offender_no.load(record.prisonerNumber)
    case_info, override = owned.case_information, owned.responsibility_override
    recommended = pom_type_rules.recommended_pom_type(
        record,
        tier=None if case_info is None or case_info.tier is None else str(case_info.tier),
        responsibility=result.responsibility,
        override=None if override is None else ResponsibilityOverride(str(override.responsibility)),
    )
    return PomType(recommended.value)


async def recommended_pom_type(ctx: RequestContext, node: t.Prisoner) -> PomType | None:
    return await recommended_pom_type_for(ctx, _record(node))


# --- fields of prisoners whose owned record the page resolver preloaded -----------------
# These answer synchronously when `node.owned` is set (a prison page loads the
# owned records of its nodes in one statement up front), sparing a coroutine and
# a DataLoader round per field and node; otherwise they return the awaitable of
# the lazy path, which graphql-core awaits.


def case_information_of(
    ctx: RequestContext, node: t.Prisoner
) -> t.CaseInformation | Awaitable[t.CaseInformation | None] | None:
    owned = node.owned
    if owned is None:
        return case_information(ctx, node.offender_no)
    row = owned.case_information
    return None if row is None else mapping.case_information(row)


def allocation_of(
    ctx: RequestContext, node: t.Prisoner
) -> t.Allocation | Awaitable[t.Allocation | None] | None:
    owned = node.owned
    if owned is None:
        return _allocation_of_seen_prisoner(ctx, node.offender_no)
    row = owned.allocation
    if row is None:
        return None
    found = mapping.allocation(row)
    found.known_poms = node.known_poms
    found.prisoner_visible = True  # reached through its prisoner, who was checked
    return found


async def _allocation_of_seen_prisoner(
    ctx: RequestContext, offender_no: str
) -> t.Allocation | None:
    found = await allocation_resolvers.allocation(ctx, offender_no)
    if found is not None:
        found.prisoner_visible = True  # reached through its prisoner, who was checked
    return found


def handover_of(ctx: RequestContext, node: t.Prisoner) -> t.Handover | Awaitable[t.Handover | None]:
    owned = node.owned
    if owned is None:
        return handover(ctx, node)
    return mapping.handover(known_handover_result(ctx, _record(node), owned))


def responsibility_of(
    ctx: RequestContext, node: t.Prisoner
) -> Responsibility | Awaitable[Responsibility | None]:
    owned = node.owned
    if owned is None:
        return _responsibility(ctx, node)
    return mapping.responsibility(known_handover_result(ctx, _record(node), owned).responsibility)


async def _responsibility(ctx: RequestContext, node: t.Prisoner) -> Responsibility | None:
    found = await handover(ctx, node)
    return None if found is None else found.responsibility
