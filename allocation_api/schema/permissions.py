"""Access control: one decision per field, made in one place.

Every field reachable from Query or Mutation carries a decision, and
`tests/api/test_schema.py` fails the build if one does not:
- a permission class below, where access depends on who asks and what is
  asked for (root fields, and fields that leave the parent's scope such as a
  POM's caseload reached through a co-worker);
- `INHERIT` metadata, where the parent object was already checked and the
  field shows nothing beyond it. Metadata costs nothing at run time, so plain
  attribute fields stay on graphql-core's fast path.
The decisions themselves (which role may do what) live in `auth/policy.py`;
these classes gather the facts (caseloads, the prisoner's prison, the
caller's staff id) and ask it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from strawberry.permission import BasePermission

from allocation_api.auth import policy
from allocation_api.auth.identity import ROLE_ALLOC_MGR
from allocation_api.errors import UpstreamError
from allocation_api.schema.parse import check_offender_no, check_prison_code

INHERIT: dict[str, object] = {"permission": "inherit"}
"""Field metadata: covered by the permission decision made on its parent."""


class _Permission(BasePermission):
    error_extensions: ClassVar[dict[str, object]] = {"code": "FORBIDDEN"}  # type: ignore[misc]


class CanReadPrison(_Permission):
    """`prison(code)`: managers in their caseloads; reading services everywhere."""

    message = "You may not see this prison"

    async def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        ctx = info.context
        code = check_prison_code(kwargs["code"], "code")
        return policy.can_read_prison(ctx.identity, await ctx.caseloads(), code)


class CanReadPrisoner(_Permission):
    """`prisoner(offenderNo)`: managers in their prisons; a POM only for their own cases."""

    message = "You may not see this prisoner"

    async def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        ctx = info.context
        offender_no = check_offender_no(kwargs["offender_no"])
        allocation = await ctx.loaders.allocation(offender_no)
        prison: str | None
        try:
            prisoner = await ctx.loaders.prisoner_by_no.load(offender_no)
            prison = None if prisoner is None else prisoner.prisonId
        except UpstreamError:
            # Partial results: decide on the owned record when NOMIS is down.
            prisoner, prison = None, None
        if prison is None and allocation is not None:
            prison = allocation.prison_code
        if (
            prison is None
            and prisoner is None
            and await ctx.loaders.case_information(offender_no) is None
        ):
            # Unknown everywhere (or NOMIS is down and we own nothing): the
            # resolver answers null or the upstream error, which reveals nothing.
            return True
        # Otherwise an unknown prison (NOMIS down with case information held, or
        # a NOMIS record without a prison) leaves no caseload to grant access by:
        # the policy refuses everyone but the reading services.
        pom_ids = (
            []
            if allocation is None
            else [
                i
                for i in (allocation.primary_pom_staff_id, allocation.secondary_pom_staff_id)
                if i is not None
            ]
        )
        return policy.can_read_prisoner(
            ctx.identity,
            await ctx.caseloads(),
            prison,
            own_staff_id=await ctx.own_staff_id(),
            prisoner_pom_staff_ids=pom_ids,
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
