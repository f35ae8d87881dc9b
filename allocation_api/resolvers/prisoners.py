"""Prisoner reads: NOMIS records joined with owned case information and handover.

These return records, rows and rule answers; `schema/types.py` turns them into
GraphQL objects.
"""

from __future__ import annotations

from collections.abc import Awaitable

from allocation_api.errors import UpstreamError
from allocation_api.resolvers.context import RequestContext
from allocation_api.resolvers.owned_facts import facts_from, facts_key
from allocation_api.rules import eligibility
from allocation_api.rules import handover as handover_rules
from allocation_api.rules import pom_type as pom_type_rules
from allocation_api.rules.handover import Handover
from allocation_api.rules.pom_type import PomType
from allocation_api.store.owned_records import OwnedRecord
from allocation_api.store.views import CaseInformationView
from allocation_api.upstream.models import Prisoner

PrisonerRead = Prisoner | UpstreamError | None
"""A prisoner's NOMIS record; the error reading it when owned fields can still
answer (NOMIS fields then error at their paths); None when nobody knows the number."""


async def prisoner(ctx: RequestContext, offender_no: str) -> PrisonerRead:
    """`prisoner(offenderNo)` (number already normalised): None when neither NOMIS
    nor the store knows it; the upstream error when only the store does."""
    try:
        return await ctx.loaders.prisoner_by_no.load(offender_no)
    except UpstreamError as error:
        owned = await ctx.loaders.owned_by_offender_no.load(offender_no)
        if owned.allocation is None and owned.case_information is None:
            raise
        return error


async def prisoner_for_case(ctx: RequestContext, offender_no: str) -> PrisonerRead:
    """The prisoner of an allocation: the upstream error in place of the record if NOMIS fails."""
    try:
        return await ctx.loaders.prisoner_by_no.load(offender_no)
    except UpstreamError as error:
        return error


async def prisoners_of_cases(ctx: RequestContext, nos: list[str]) -> dict[str, PrisonerRead]:
    """Prisoners of these cases in one read; the upstream error for each if NOMIS fails.

    Read by page (`prisoners_by_page`): caseload pages reached side by side
    (co-workers' caseloads under a page's nodes) share one upstream batch
    instead of one read each, so a page's prisoner checks never cost a call
    per node, and a page costs one future, not one per prisoner.
    """
    try:
        found = await ctx.loaders.prisoners_by_page.load(tuple(nos))
    except UpstreamError as error:
        return dict.fromkeys(nos, error)
    return dict(zip(nos, found, strict=True))


def case_information(
    ctx: RequestContext, offender_no: str
) -> Awaitable[CaseInformationView | None]:
    """The loader's awaitable (no coroutine of its own per field and node)."""
    return ctx.loaders.case_information(offender_no)


def owned_record(ctx: RequestContext, offender_no: str) -> Awaitable[OwnedRecord]:
    """Everything the store holds about the prisoner (the loader's batched awaitable)."""
    return ctx.loaders.owned_by_offender_no.load(offender_no)


def omic_eligible(ctx: RequestContext, record: Prisoner) -> bool:
    return eligibility.is_omic_eligible(record, ctx.today)


def known_handover_result(ctx: RequestContext, record: Prisoner, owned: OwnedRecord) -> Handover:
    """As `handover_result`, for a prisoner whose owned record is already loaded."""
    found = ctx.handovers.get(record.prisonerNumber)
    if found is None:
        today = ctx.today
        found = ctx.services.caches.handovers.get(
            record,
            facts_key(owned, record, today),
            today,
            lambda: handover_rules.handover(record, facts_from(owned, record, today), today),
        )
        ctx.handovers[record.prisonerNumber] = found
    return found


async def handover_result(ctx: RequestContext, record: Prisoner) -> Handover:
    """The handover rules' answer for one prisoner, computed once per request.

    Memoised in a plain dict rather than `ctx.once`: no future per prisoner, and
    the rules are pure, so two fields racing for one prisoner only compute twice.
    """
    found = ctx.handovers.get(record.prisonerNumber)
    if found is not None:
        return found
    owned = await ctx.loaders.owned_by_offender_no.load(record.prisonerNumber)
    return known_handover_result(ctx, record, owned)


async def recommended_pom_type(ctx: RequestContext, record: Prisoner) -> PomType:
    """Recommended POM type: immigration / COM-responsible -> prison; tier A/B -> probation."""
    result = await handover_result(ctx, record)
    owned = await ctx.loaders.owned_by_offender_no.load(record.prisonerNumber)
    case_info, override = owned.case_information, owned.responsibility_override
    return pom_type_rules.recommended_pom_type(
        record,
        tier=None if case_info is None or case_info.tier is None else str(case_info.tier),
        responsibility=result.responsibility,
        override=None if override is None else override.responsibility,
    )
