"""POM reads: staff holding the POM role (NOMIS) joined with owned POM details
and the POM's caseload (owned allocations).

These return `PomRead`s (the role, staff and detail rows of one POM) and rows;
`schema/types.py` turns them into GraphQL objects.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from allocation_api.errors import UpstreamError
from allocation_api.paging import page_bounds
from allocation_api.resolvers.context import RequestContext
from allocation_api.resolvers.prisoners import PrisonerRead, handover_result, prisoners_of_cases
from allocation_api.rules.caseload import CaseloadCounts, CaseRecord, CaseRole, count_caseload
from allocation_api.rules.handover import Handover
from allocation_api.store.tables import PomDetail
from allocation_api.store.views import AllocationView, PomDetailView
from allocation_api.upstream.models import Prisoner, StaffDetail, StaffRole


class NotRead:
    """The POM details were not read: the query selected none of the fields they answer."""


NOT_READ = NotRead()


@dataclass(frozen=True, slots=True)
class PomRead:
    """What is known of one POM at one prison.

    `role` is None when the staff member no longer holds the POM role there
    (`staff` then holds their staff record, `recorded_name` the name recorded
    at allocation); `error` is set when NOMIS could not be read (only the owned
    `detail` is known then).
    """

    staff_id: int
    prison_code: str
    role: StaffRole | None
    staff: StaffDetail | None
    detail: PomDetailView | PomDetail | NotRead | None
    recorded_name: str | None = None
    error: UpstreamError | None = None


def _role_of(roles: list[StaffRole], staff_id: int) -> StaffRole | None:
    return next((r for r in roles if r.staffId == staff_id), None)


async def pom(ctx: RequestContext, staff_id: int, prison_code: str) -> PomRead | None:
    """`pom(staffId, prisonCode)`: None unless the staff member holds the POM role there."""
    roles, detail = await asyncio.gather(
        ctx.loaders.poms_by_prison.load(prison_code),
        ctx.loaders.pom_detail_by_key.load((staff_id, prison_code)),
    )
    role = _role_of(roles, staff_id)
    if role is None:
        return None
    return PomRead(staff_id, prison_code, role=role, staff=None, detail=detail)


async def poms_at(ctx: RequestContext, prison_code: str) -> list[PomRead]:
    """Staff holding the POM role at the prison, ordered by last name, first name."""
    roles = await ctx.loaders.poms_by_prison.load(prison_code)
    details = await ctx.loaders.pom_detail_by_key.load_many(
        [(r.staffId, prison_code) for r in roles]
    )
    poms = [
        PomRead(r.staffId, prison_code, role=r, staff=None, detail=d)
        for r, d in zip(roles, details, strict=True)
    ]
    poms.sort(key=_name_order)
    return poms


def _name_order(found: PomRead) -> tuple[str, str]:
    role = found.role
    assert role is not None
    return ((role.lastName or "").upper(), (role.firstName or "").upper())


async def pom_of_case(
    ctx: RequestContext, staff_id: int, prison_code: str, recorded_name: str | None
) -> PomRead:
    """The primary or co-working POM of an allocation (see `poms_of_cases`).

    Every sibling's lookups go through the same DataLoaders in the same tick,
    so one case at a time still batches into one read per kind.
    """
    found = await poms_of_cases(ctx, [(staff_id, prison_code, recorded_name)])
    return found[(staff_id, prison_code)]


async def poms_of_cases(
    ctx: RequestContext,
    cases: Sequence[tuple[int, str, str | None]],
    *,
    bulk: bool = False,
    details: bool = True,
) -> dict[tuple[int, str], PomRead]:
    """POMs of cases: (staff id, prison, name as recorded) -> PomRead.

    One batch of owned details, the (cached) POM list per prison, one staff
    batch for POMs who left the role. Owned details resolve even when NOMIS
    fails (names then error at their paths); a POM who left the role is still
    shown, from the staff record or the name recorded at allocation. A page
    calls it once up front (`bulk`: all its cases at once, no DataLoader) so its
    POM fields can answer synchronously, and without `details` when its query
    selects none of the fields they answer: a page of names then costs one
    statement less.
    """
    if not cases:
        return {}
    names = {(staff_id, prison): name for staff_id, prison, name in cases}
    keys = list(names)
    found_details: Sequence[PomDetailView | NotRead | None]
    if not details:
        found_details = [NOT_READ] * len(keys)
    elif bulk:
        found_details = await ctx.loaders.pom_details(keys)
    else:
        found_details = await ctx.loaders.pom_detail_by_key.load_many(keys)
    details_of = dict(zip(keys, found_details, strict=True))
    found: dict[tuple[int, str], PomRead] = {}
    for prison in {prison for _, prison in keys}:
        here = [key for key in keys if key[1] == prison]
        try:
            roles = {r.staffId: r for r in await ctx.loaders.poms_by_prison.load(prison)}
            gone = [staff_id for staff_id, _ in here if staff_id not in roles]
            staff = dict(zip(gone, await ctx.loaders.staff_by_id.load_many(gone), strict=True))
        except UpstreamError as error:
            for key in here:
                found[key] = PomRead(
                    key[0], prison, role=None, staff=None, detail=details_of[key], error=error
                )
            continue
        for key in here:
            found[key] = PomRead(
                key[0],
                prison,
                role=roles.get(key[0]),
                staff=staff.get(key[0]),
                detail=details_of[key],
                recorded_name=names[key],
            )
    return found


@dataclass(frozen=True, slots=True)
class CaseloadPreload:
    """What a caseload page reads up front for its nodes' fields."""

    prisoners: bool = False
    poms: bool = False
    pom_details: bool = False


@dataclass(frozen=True, slots=True)
class CaseloadPage:
    rows: list[AllocationView]
    start: int
    total: int
    prisoners: dict[str, PrisonerRead] | None = None
    """The page's prisoners, when preloaded."""
    poms: dict[tuple[int, str], PomRead] | None = None
    """The page's POMs, when preloaded."""


async def caseload(
    ctx: RequestContext,
    staff_id: int,
    prison_code: str,
    first: int | None,
    after: str | None,
    *,
    preload: CaseloadPreload = CaseloadPreload(),
) -> CaseloadPage:
    """A page of the POM's caseload. With `preload`, the nodes' prisoners and POMs are
    read up front (the same calls the fields would batch lazily, made concurrently),
    so those fields answer synchronously."""
    start, size = page_bounds(first, after, ctx.settings.max_page_size)
    rows = await ctx.loaders.caseload_by_staff_and_prison.load((staff_id, prison_code))
    page = rows[start : start + size]
    if not (page and (preload.prisoners or preload.poms)):
        return CaseloadPage(page, start, len(rows))
    known_prisoners, known_poms = await asyncio.gather(
        prisoners_of_cases(ctx, [row.offender_no for row in page])
        if preload.prisoners
        else _none(),
        poms_of_cases(ctx, cases_of(page), bulk=True, details=preload.pom_details)
        if preload.poms
        else _none(),
    )
    return CaseloadPage(page, start, len(rows), prisoners=known_prisoners, poms=known_poms)


async def _none() -> None:
    return None


def cases_of(rows: Sequence[AllocationView]) -> list[tuple[int, str, str | None]]:
    """The (staff id, prison, name as recorded) of every POM of these allocations."""
    return [
        (staff_id, row.prison_code, name)
        for row in rows
        for staff_id, name in (
            (row.primary_pom_staff_id, row.primary_pom_name),
            (row.secondary_pom_staff_id, row.secondary_pom_name),
        )
        if staff_id is not None
    ]


def _allocated_on(row: AllocationView, role: CaseRole) -> dt.date:
    when = row.primary_pom_allocated_at if role is CaseRole.PRIMARY else None
    return (when or row.updated_at).date()


async def caseload_counts(ctx: RequestContext, staff_id: int, prison_code: str) -> CaseloadCounts:
    """Counts over the whole caseload; responsibility needs each prisoner's NOMIS dates."""
    rows = await ctx.loaders.caseload_by_staff_and_prison.load((staff_id, prison_code))
    nos = [row.offender_no for row in rows]
    case_infos = [r.case_information for r in await ctx.loaders.owned_by_offender_no.load_many(nos)]
    try:
        prisoners: list[Prisoner | None] = list(await ctx.loaders.prisoner_by_no.load_many(nos))
    except UpstreamError:
        prisoners = [None] * len(nos)

    async def result_for(p: Prisoner | None) -> Handover | None:
        return None if p is None else await handover_result(ctx, p)

    results = await asyncio.gather(*(result_for(p) for p in prisoners))
    cases = []
    for row, info, result in zip(rows, case_infos, results, strict=True):
        role = CaseRole.PRIMARY if row.primary_pom_staff_id == staff_id else CaseRole.COWORKING
        cases.append(
            CaseRecord(
                role=role,
                tier=None if info is None or info.tier is None else str(info.tier),
                allocated_at=_allocated_on(row, role),
                responsibility=None if result is None else result.responsibility,
                handover_date=None if result is None else result.handover_date,
            )
        )
    return count_caseload(cases, ctx.today)


FULL_TIME_HOURS = 37.5


def default_working_pattern(role: StaffRole | None) -> float:
    """Before anyone records one: full time, or contracted hours over 37.5, in tenths."""
    if role is None or role.scheduleType != "PT" or not role.hoursPerWeek:
        return 1.0
    return min(1.0, max(0.1, round(role.hoursPerWeek / FULL_TIME_HOURS, 1)))
