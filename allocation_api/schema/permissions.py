"""Access control: one decision per field, made in one place.

Every field reachable from Query or Mutation carries a decision, and
`tests/e2e/api/test_schema.py` fails the build if one does not:
- a permission class below, where access depends on who asks and what is
  asked for (root fields, and fields that leave the parent's scope such as a
  POM's caseload reached through a co-worker);
- `INHERIT` metadata, where the parent object was already checked and the
  field shows nothing beyond it. Metadata costs nothing at run time, so plain
  attribute fields stay on graphql-core's fast path.

Prisoner data is checked on the data, not on the path: every field that
yields a prisoner's data (a `Prisoner`, an allocation's history) decides on
THAT prisoner's current prison, whatever object it hangs from, either with a
`PrisonerDataCheck` permission class or, on the fast path, with
`PRISONER_DATA` metadata on a resolver that asks `prisoner_visible` /
`visible_prisoners` before it yields anything. A field hanging from an object
that is already a checked prisoner's (a Prisoner's sentence, case
information) inherits. `tests/e2e/api/test_schema.py` walks every path from Query
and Mutation and fails when one reaches prisoner data without such a check.

A refusal is the same whether the prisoner exists elsewhere or not at all:
`prisoner(offenderNo)` answers null with FORBIDDEN at its path for both (a
caller with no read grant is refused before anything is looked up); a nested
prisoner the caller may not see is null with FORBIDDEN at its path, the node
around it (an allocation at a prison the caller may see) staying in place.
The decisions themselves (which role may do what) live in `auth/policy.py`;
these classes gather the facts (caseloads, the prisoner's prison, the
caller's staff id) and ask it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

from strawberry.permission import BasePermission

from allocation_api.auth import policy
from allocation_api.auth.identity import ROLE_ALLOC_CASE_MGR, ROLE_ALLOC_MGR
from allocation_api.errors import Forbidden, UpstreamError
from allocation_api.schema.parse import check_offender_no, check_prison_code

INHERIT: dict[str, object] = {"permission": "inherit"}
"""Field metadata: covered by the permission decision made on its parent."""

PRISONER_DATA: dict[str, object] = {"permission": "prisoner-data"}
"""Field metadata: the resolver yields a prisoner's data only after deciding on
that prisoner (`prisoner_visible` / `visible_prisoners`), and refuses with
`prisoner_refused()` otherwise."""

PRISONER_REFUSED = "You may not see this prisoner"


def prisoner_refused() -> Forbidden:
    """The one refusal for a prisoner: the same for one held elsewhere and one unknown."""
    return Forbidden(PRISONER_REFUSED)


class AllocationFacts(Protocol):
    """What an allocation tells the prisoner check (a row, a view or a GraphQL object)."""

    @property
    def prison_code(self) -> str: ...
    @property
    def primary_pom_staff_id(self) -> int | None: ...
    @property
    def secondary_pom_staff_id(self) -> int | None: ...


def _pom_ids(allocation: AllocationFacts | None) -> list[int]:
    if allocation is None:
        return []
    return [
        i
        for i in (allocation.primary_pom_staff_id, allocation.secondary_pom_staff_id)
        if i is not None
    ]


async def _caller(ctx: Any) -> tuple[frozenset[str], int | None]:
    """The caller's caseloads and (for a POM only) staff id; both memoised per request."""
    identity = ctx.identity
    caseloads = await ctx.caseloads()
    own = await ctx.own_staff_id() if identity.has_role(ROLE_ALLOC_CASE_MGR) else None
    return caseloads, own


async def visible_prisoners(
    ctx: Any, cases: Sequence[tuple[str | None, AllocationFacts | None]]
) -> list[bool]:
    """For each (live NOMIS prison, allocation) of a page: may the caller see that prisoner?

    The facts come from what the page already read (its prisoners' batch, its
    allocation rows): no upstream call per node. The live prison is None when
    NOMIS could not say (down, no record, no prison): the allocation's prison
    decides then (`policy.current_prison`).
    """
    identity = ctx.identity
    if policy.reads_every_prisoner(identity):
        return [True] * len(cases)
    caseloads, own = await _caller(ctx)
    return [
        policy.can_read_prisoner(
            identity,
            caseloads,
            policy.current_prison(live, None if allocation is None else allocation.prison_code),
            own_staff_id=own,
            prisoner_pom_staff_ids=_pom_ids(allocation),
        )
        for live, allocation in cases
    ]


async def live_prison(ctx: Any, offender_no: str) -> str | None:
    """The prisoner's current NOMIS prison (batched, memoised); None if NOMIS cannot say."""
    try:
        found = await ctx.loaders.prisoner_by_no.load(offender_no)
    except UpstreamError:
        return None  # partial results: the owned record decides
    return None if found is None else found.prisonId


async def prisoner_visible(ctx: Any, offender_no: str, allocation: AllocationFacts | None) -> bool:
    """May the caller see this one prisoner, reached from `allocation`?

    Through the request's batching loaders, so the prisoners of a list checked
    one by one still cost one upstream read.
    """
    if policy.reads_every_prisoner(ctx.identity):
        return True
    (visible,) = await visible_prisoners(ctx, [(await live_prison(ctx, offender_no), allocation)])
    return visible


class _Permission(BasePermission):
    error_extensions: ClassVar[dict[str, object]] = {"code": "FORBIDDEN"}  # type: ignore[misc]


class CanReadPrison(_Permission):
    """`prison(code)`: managers in their caseloads; reading services everywhere."""

    message = "You may not see this prison"

    async def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        ctx = info.context
        code = check_prison_code(kwargs["code"], "code")
        return policy.can_read_prison(ctx.identity, await ctx.caseloads(), code)


class PrisonerDataCheck(_Permission):
    """A permission class that decides on the prisoner data its field yields."""

    message = PRISONER_REFUSED


class CanReadPrisoner(PrisonerDataCheck):
    """`prisoner(offenderNo)`: managers in their prisons; a POM only for their own cases.

    One answer (null, FORBIDDEN at the field) for a prisoner held elsewhere,
    released, or unknown: a caller who may not see a prisoner learns nothing
    about whether one exists. A caller who could see no prisoner at all is
    refused before anything is looked up.
    """

    async def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        ctx = info.context
        offender_no = check_offender_no(kwargs["offender_no"])
        identity = ctx.identity
        if not policy.has_prisoner_read_role(identity):
            return False  # before anything is looked up, the caller's caseloads included
        if policy.reads_every_prisoner(identity):
            return True  # null for an unknown number: they may see everyone anyway
        if not policy.may_read_some_prisoner(identity, await ctx.caseloads()):
            return False
        allocation = await ctx.loaders.allocation(offender_no)
        return await prisoner_visible(ctx, offender_no, allocation)


class CanReadPrisonRoll(PrisonerDataCheck):
    """`Prison.prisoners`: the prisoners the roster lists are all at the prison.

    The roster keeps only prisoners whose current NOMIS prison is the prison
    (`PrisonRoll.roster`), so one decision on that prison covers every node
    of every page: no per-node work on the hottest page.
    """

    async def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        ctx = info.context
        if policy.reads_every_prisoner(ctx.identity):
            return True
        caseloads, own = await _caller(ctx)
        return policy.can_read_prisoner(
            ctx.identity, caseloads, source.code, own_staff_id=own, prisoner_pom_staff_ids=()
        )


class CanReadPom(_Permission):
    """`pom(staffId, prisonCode)`: managers in their prisons; a POM only themself."""

    message = "You may not see this POM"

    async def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        ctx = info.context
        prison = check_prison_code(kwargs["prison_code"])
        return policy.can_read_pom(
            ctx.identity,
            await ctx.caseloads(),
            prison,
            kwargs["staff_id"],
            own_staff_id=await ctx.own_staff_id(),
        )


class CanReadPomCases(_Permission):
    """A POM's caseload, wherever the POM object was reached from (e.g. as a co-worker)."""

    message = "You may not see this POM's cases"

    async def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        ctx = info.context
        return policy.can_read_pom(
            ctx.identity,
            await ctx.caseloads(),
            source.prison_code,
            source.staff_id,
            own_staff_id=await ctx.own_staff_id(),
        )


class IsAllocationManager(_Permission):
    """Mutations: only allocation managers; the prison is checked by the resolver."""

    message = "Only allocation managers (ROLE_ALLOC_MGR) may change allocations"

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return bool(info.context.identity.has_role(ROLE_ALLOC_MGR))
