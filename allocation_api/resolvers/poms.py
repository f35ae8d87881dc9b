"""POM reads: staff holding the POM role (NOMIS) joined with owned POM details
and the POM's caseload (owned allocations)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass

from strawberry.types.nodes import Selection

from allocation_api.context import RequestContext
from allocation_api.errors import UpstreamError
from allocation_api.paging import page_bounds
from allocation_api.resolvers import selections
from allocation_api.resolvers.prisoners import handover_result
from allocation_api.rules.caseload import CaseRecord, CaseRole, count_caseload
from allocation_api.rules.handover import Handover as HandoverResult
from allocation_api.schema import mapping
from allocation_api.schema import types as t
from allocation_api.schema.permissions import visible_prisoners
from allocation_api.store.views import AllocationView, PomDetailView
from allocation_api.upstream.models import Prisoner, StaffRole


def _role_of(roles: list[StaffRole], staff_id: int) -> StaffRole | None:
    return next((r for r in roles if r.staffId == staff_id), None)


async def pom(ctx: RequestContext, staff_id: int, prison_code: str) -> t.Pom | None:
    """`pom(staffId, prisonCode)`: null unless the staff member holds the POM role there."""
    roles, detail = await asyncio.gather(
        ctx.loaders.poms_by_prison.load(prison_code),
        ctx.loaders.pom_detail_by_key.load((staff_id, prison_code)),
    )
    role = _role_of(roles, staff_id)
    if role is None:
        return None
    return mapping.pom(staff_id, prison_code, role=role, staff=None, detail=detail)


async def poms_at(ctx: RequestContext, prison_code: str) -> list[t.Pom]:
    roles = await ctx.loaders.poms_by_prison.load(prison_code)
    details = await ctx.loaders.pom_detail_by_key.load_many(
        [(r.staffId, prison_code) for r in roles]
    )
    poms = [
        mapping.pom(r.staffId, prison_code, role=r, staff=None, detail=d)
        for r, d in zip(roles, details, strict=True)
    ]
    poms.sort(key=lambda p: ((p.last_name or "").upper(), (p.first_name or "").upper()))
    return poms


async def pom_of_case(
    ctx: RequestContext, staff_id: int | None, prison_code: str, recorded_name: str | None
) -> t.Pom | None:
    """The primary or co-working POM of an allocation (see `poms_of_cases`).

    Every sibling's lookups go through the same DataLoaders in the same tick,
    so one case at a time still batches into one read per kind.
    """
    if staff_id is None:
        return None
    found = await poms_of_cases(ctx, [(staff_id, prison_code, recorded_name)])
    return found[(staff_id, prison_code)]


async def poms_of_cases(
    ctx: RequestContext,
    cases: Sequence[tuple[int, str, str | None]],
    *,
    bulk: bool = False,
    details: bool = True,
) -> dict[tuple[int, str], t.Pom]:
    """POMs of cases: (staff id, prison, name as recorded) -> Pom.

    One batch of owned details, the (cached) POM list per prison, one staff
    batch for POMs who left the role. Owned details resolve even when NOMIS
    fails (names then error at their paths); a POM who left the role is still
    shown, from the staff record or the name recorded at allocation. A page
    calls it once up front (`bulk`: all its cases at once, no DataLoader) so its
    POM fields can answer synchronously, and without `details` when its query
    selects none of the fields they answer (`mapping.POM_DETAIL_FIELDS`): a
    page of names then costs one statement less.
    """
    if not cases:
        return {}
    names = {(staff_id, prison): name for staff_id, prison, name in cases}
    keys = list(names)
    found_details: Sequence[PomDetailView | mapping.NotRead | None]
    if not details:
        found_details = [mapping.NOT_READ] * len(keys)
    elif bulk:
        found_details = await ctx.loaders.pom_details(keys)
    else:
        found_details = await ctx.loaders.pom_detail_by_key.load_many(keys)
    details_of = dict(zip(keys, found_details, strict=True))
    found: dict[tuple[int, str], t.Pom] = {}
    for prison in {prison for _, prison in keys}:
        here = [key for key in keys if key[1] == prison]
        try:
            roles = {r.staffId: r for r in await ctx.loaders.poms_by_prison.load(prison)}
            gone = [staff_id for staff_id, _ in here if staff_id not in roles]
            staff = dict(zip(gone, await ctx.loaders.staff_by_id.load_many(gone), strict=True))
        except UpstreamError as error:
            for key in here:
                found[key] = mapping.pom_unavailable(key[0], prison, details_of[key], error)
            continue
        for key in here:
            found[key] = mapping.pom(
                key[0],
                prison,
                role=roles.get(key[0]),
                staff=staff.get(key[0]),
                detail=details_of[key],
                recorded_name=names[key],
            )
    return found


def pom_of_allocation(
    ctx: RequestContext, node: t.Allocation, *, primary: bool
) -> t.Pom | Awaitable[t.Pom | None] | None:
    """An allocation's POM: at once if the page preloaded it, else via `pom_of_case`."""
    staff_id = node.primary_pom_staff_id if primary else node.secondary_pom_staff_id
    if staff_id is None:
        return None
    known = node.known_poms
    if known is not None:
        pom = known.get((staff_id, node.prison_code))
        if pom is not None:
            return pom
    name = node.primary_pom_name if primary else node.secondary_pom_name
    return pom_of_case(ctx, staff_id, node.prison_code, name)


def primary_pom_of_allocation(
    ctx: RequestContext, node: t.Allocation
) -> t.Pom | Awaitable[t.Pom | None] | None:
    return pom_of_allocation(ctx, node, primary=True)


def secondary_pom_of_allocation(
    ctx: RequestContext, node: t.Allocation
) -> t.Pom | Awaitable[t.Pom | None] | None:
    return pom_of_allocation(ctx, node, primary=False)


@dataclass(frozen=True, slots=True)
class CaseloadPreload:
    prisoners: bool = False
    poms: bool = False
    pom_details: bool = False


def pom_details_asked(allocations: Sequence[Selection]) -> bool:
    """Whether what these allocations select of their POMs needs the POM details."""
    poms = [
        *selections.children(allocations, "primaryPom"),
        *selections.children(allocations, "secondaryPom"),
    ]
    return bool(selections.names(poms) & mapping.POM_DETAIL_FIELDS)


def caseload_preload_for(selected: Sequence[Selection]) -> CaseloadPreload:
    """What the `caseload` field being resolved will ask of its nodes."""
    nodes = selections.connection_nodes(selected)
    asked = selections.names(nodes)
    return CaseloadPreload(
        # The history is shown only with the prisoner: both need the prisoners' prisons.
        prisoners=bool(asked & {"prisoner", "history"}),
        poms=bool(asked & {"primaryPom", "secondaryPom"}),
        pom_details=pom_details_asked(nodes),
    )


async def caseload(
    ctx: RequestContext,
    node: t.Pom,
    first: int | None,
    after: str | None,
    *,
    preload: CaseloadPreload = CaseloadPreload(),
) -> t.AllocationConnection:
    """A page of the POM's caseload. With `preload`, the nodes' prisoners and POMs are
    read up front (the same calls the fields would batch lazily, made concurrently),
    so those fields answer synchronously."""
    start, size = page_bounds(first, after, ctx.settings.max_page_size)
    rows = await ctx.loaders.caseload_by_staff_and_prison.load((node.staff_id, node.prison_code))
    page = rows[start : start + size]
    nodes = [mapping.allocation(row) for row in page]
    if page and (preload.prisoners or preload.poms):
        known_prisoners, known_poms = await asyncio.gather(
            _prisoners_of(ctx, [row.offender_no for row in page]) if preload.prisoners else _none(),
            poms_of_cases(ctx, cases_of(page), bulk=True, details=preload.pom_details)
            if preload.poms
            else _none(),
        )
        for allocation in nodes:
            allocation.known_prisoners = known_prisoners
            allocation.known_poms = known_poms
        if known_prisoners is not None:
            await _decide_prisoners(ctx, nodes, known_prisoners)
    return t.AllocationConnection(
        nodes=nodes,
        page_info=mapping.page_info(start, start + len(page), len(rows)),
        total_count=len(rows),
    )


async def _decide_prisoners(
    ctx: RequestContext, nodes: list[t.Allocation], known: dict[str, t.Prisoner | None]
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


def _live_prison(prisoner: t.Prisoner | None) -> str | None:
    """The prisoner's NOMIS prison; None when NOMIS did not say (then the allocation decides)."""
    prison = None if prisoner is None else prisoner.prison_id
    return prison if isinstance(prison, str) else None


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


async def _prisoners_of(ctx: RequestContext, nos: list[str]) -> dict[str, t.Prisoner | None]:
    """Prisoners of these cases, partial (NOMIS fields in error) if NOMIS fails.

    Read by page (`prisoners_by_page`): caseload pages reached side by side
    (co-workers' caseloads under a page's nodes) share one upstream batch
    instead of one read each, so a page's prisoner checks never cost a call
    per node, and a page costs one future, not one per prisoner.
    """
    try:
        found = await ctx.loaders.prisoners_by_page.load(tuple(nos))
    except UpstreamError as error:
        return {no: mapping.prisoner_unavailable(no, error) for no in nos}
    return {
        no: None if p is None else mapping.prisoner(p) for no, p in zip(nos, found, strict=True)
    }


def _allocated_on(row: AllocationView, role: CaseRole) -> dt.date:
    when = row.primary_pom_allocated_at if role is CaseRole.PRIMARY else None
    return (when or row.updated_at).date()


async def caseload_counts(ctx: RequestContext, node: t.Pom) -> t.CaseloadCounts:
    """Counts over the whole caseload; responsibility needs each prisoner's NOMIS dates."""
    rows = await ctx.loaders.caseload_by_staff_and_prison.load((node.staff_id, node.prison_code))
    nos = [row.offender_no for row in rows]
    case_infos = [r.case_information for r in await ctx.loaders.owned_by_offender_no.load_many(nos)]
    try:
        prisoners: list[Prisoner | None] = list(await ctx.loaders.prisoner_by_no.load_many(nos))
    except UpstreamError:
        prisoners = [None] * len(nos)

    async def result_for(p: Prisoner | None) -> HandoverResult | None:
        return None if p is None else await handover_result(ctx, p)

    results = await asyncio.gather(*(result_for(p) for p in prisoners))
    cases = []
    for row, info, result in zip(rows, case_infos, results, strict=True):
        role = CaseRole.PRIMARY if row.primary_pom_staff_id == node.staff_id else CaseRole.COWORKING
        cases.append(
            CaseRecord(
                role=role,
                tier=None if info is None or info.tier is None else str(info.tier),
                allocated_at=_allocated_on(row, role),
                responsibility=None if result is None else result.responsibility,
                handover_date=None if result is None else result.handover_date,
            )
        )
    return mapping.caseload_counts(count_caseload(cases, ctx.today))
