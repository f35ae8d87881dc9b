"""Prison reads: the OMiC roster of a prison, its pages, filters and summary.

The roster is every prisoner prisoner search lists at the prison, kept to
the legal statuses the prison lists consider and to OMiC-eligible prisoners,
ordered by last name, first name and number. It is fetched whole (one paged
upstream read, cached briefly across requests) because eligibility and the
owned-data filters cannot be pushed upstream; pages are cut from it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from allocation_api.paging import page_bounds
from allocation_api.resolvers import poms as pom_resolvers
from allocation_api.resolvers.context import RequestContext
from allocation_api.resolvers.poms import PomRead
from allocation_api.store import repositories as repo
from allocation_api.store.owned_records import OwnedRecord
from allocation_api.upstream.models import Agency, Prisoner


class PrisonerFilter(enum.Enum):
    """Which prisoners of a prison to list (the filters partition the roster)."""

    ALL = "ALL"
    ALLOCATED = "ALLOCATED"
    UNALLOCATED = "UNALLOCATED"
    MISSING_CASE_INFORMATION = "MISSING_CASE_INFORMATION"


async def prison(ctx: RequestContext, code: str) -> Agency | None:
    """The agency of a prison (an institution); None for any other kind of agency."""
    agency = await ctx.loaders.agency_by_id.load(code)
    if agency is None or (agency.agencyType is not None and agency.agencyType != "INST"):
        return None
    return agency


async def roster(ctx: RequestContext, code: str) -> list[Prisoner]:
    """Eligible prisoners of the prison in list order (derived once per roll and day)."""
    roll = await ctx.loaders.roll_by_prison.load(code)
    return roll.roster(ctx.today)


@dataclass(frozen=True, slots=True)
class _Status:
    allocated: bool
    has_tier: bool


async def _statuses(ctx: RequestContext, code: str, nos: list[str]) -> dict[str, _Status]:
    """Owned status of every roster prisoner: ONE statement for the whole prison.

    Only an allocation AT this prison counts as allocated: a prisoner who arrived
    with a POM from their previous prison is waiting for one here.
    """

    async def compute() -> dict[str, _Status]:
        found = await repo.allocation_status(ctx.services.reads, nos, prison_code=code)
        return {no: _Status(*found.get(no, (False, False))) for no in nos}

    return await ctx.once(("statuses", code), compute)


def _matches(status: _Status, wanted: PrisonerFilter) -> bool:
    """Filters partition the roster: allocated | unallocated (ready) | missing details."""
    if wanted is PrisonerFilter.ALLOCATED:
        return status.allocated
    if wanted is PrisonerFilter.UNALLOCATED:
        return not status.allocated and status.has_tier
    if wanted is PrisonerFilter.MISSING_CASE_INFORMATION:
        return not status.allocated and not status.has_tier
    return True


@dataclass(frozen=True, slots=True)
class Preload:
    """What a roster page reads up front for its nodes' fields."""

    owned: bool = False
    poms: bool = False
    pom_details: bool = False


@dataclass(frozen=True, slots=True)
class RosterPage:
    prisoners: list[Prisoner]
    start: int
    total: int
    owned: list[OwnedRecord] | None = None
    """The page's owned records, in page order, when preloaded."""
    poms: dict[tuple[int, str], PomRead] | None = None
    """The POMs of the page's allocations, when preloaded."""


async def prisoners(
    ctx: RequestContext,
    code: str,
    first: int | None,
    after: str | None,
    wanted: PrisonerFilter,
    *,
    preload: Preload = Preload(),
) -> RosterPage:
    """A page of the roster. With `preload`, the nodes' owned records (and their
    allocations' POMs) are read up front, in the same statements the fields would
    otherwise batch lazily, so those fields answer synchronously."""
    start, size = page_bounds(first, after, ctx.settings.max_page_size)
    listed = await roster(ctx, code)
    if wanted is not PrisonerFilter.ALL:
        statuses = await _statuses(ctx, code, [p.prisonerNumber for p in listed])
        listed = [p for p in listed if _matches(statuses[p.prisonerNumber], wanted)]
    page = listed[start : start + size]
    if not (preload.owned and page):
        return RosterPage(page, start, len(listed))
    owned = await ctx.loaders.owned_records([p.prisonerNumber for p in page])
    known = None
    if preload.poms:
        allocations = [r.allocation for r in owned if r.allocation is not None]
        known = await pom_resolvers.poms_of_cases(
            ctx, pom_resolvers.cases_of(allocations), bulk=True, details=preload.pom_details
        )
    return RosterPage(page, start, len(listed), owned=owned, poms=known)


@dataclass(frozen=True, slots=True)
class PrisonCounts:
    total: int
    allocated: int
    unallocated: int
    missing_case_information: int


async def summary(ctx: RequestContext, code: str) -> PrisonCounts:
    listed = await roster(ctx, code)
    statuses = await _statuses(ctx, code, [p.prisonerNumber for p in listed])
    allocated = sum(1 for s in statuses.values() if s.allocated)
    ready = sum(1 for s in statuses.values() if not s.allocated and s.has_tier)
    return PrisonCounts(
        total=len(listed),
        allocated=allocated,
        unallocated=ready,
        missing_case_information=len(listed) - allocated - ready,
    )
