"""Facts a command checks before writing, read fresh from NOMIS.

A rule check must not pass on stale data, so these read the upstreams rather
than the cross-request caches (then refresh the caches and the request's
loaders with what they read); an upstream that cannot answer refuses the
command with its `UpstreamError` (nothing is written). `reads` is the
request's read side: owned rows come through its DataLoaders, so a command
and the fields of its result share one read of each.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import orjson

from allocation_api.auth import policy
from allocation_api.commands.actor import Actor
from allocation_api.errors import Conflict, NotAllowed, NotFound
from allocation_api.resolvers.context import RequestContext
from allocation_api.store.enums import PomStatus
from allocation_api.upstream import Upstreams
from allocation_api.upstream.models import Prisoner, StaffRole


async def fresh_prisoner(
    reads: RequestContext, upstreams: Upstreams, actor: Actor, offender_no: str
) -> Prisoner:
    """The prisoner (fresh from NOMIS) if the actor may change them, else one refusal.

    Unknown, released, in transit or held outside the actor's caseloads all
    get the same code and message, naming no prison: a write must not tell
    where anyone is, or whether they exist. An actor with no caseloads is
    refused before anything is looked up.
    """
    caseloads = await actor.caseloads()
    found = await upstreams.prisoner_search.get_prisoner(offender_no) if caseloads else None
    if found is None or not policy.can_mutate(actor.identity, caseloads, found.prisonId):
        raise NotAllowed(
            "No prisoner with this number is in a prison where you may change allocations",
            code="FORBIDDEN_PRISON",
        )
    reads.loaders.prisoner_by_no.prime(offender_no, found)
    return found


async def fresh_poms(reads: RequestContext, upstreams: Upstreams, prison: str) -> list[StaffRole]:
    roles = await upstreams.prison_api.poms_at_prison(prison)
    reads.services.caches.poms_by_prison.put(prison, roles)
    return roles


async def active_pom(
    reads: RequestContext, upstreams: Upstreams, staff_id: int, prison: str
) -> StaffRole:
    """The POM's role: they must hold the POM role at the prison and be active
    (NOMIS and owned status).

    The owned status is checked here to refuse early, and again under the
    POM's lock inside the write's transaction (`allocation_change.py`).
    """
    roles = await fresh_poms(reads, upstreams, prison)
    role = next((r for r in roles if r.staffId == staff_id), None)
    staff_rows = await upstreams.prison_api.staff_by_ids([staff_id])
    staff = next((s for s in staff_rows if s.staffId == staff_id), None)
    if staff is None:
        raise NotFound(f"No staff member {staff_id} in NOMIS", code="POM_NOT_FOUND")
    if role is None:
        raise NotAllowed(
            f"Staff member {staff_id} does not hold the POM role at {prison}",
            code="NOT_A_POM_AT_PRISON",
        )
    if staff.status != "ACTIVE":
        raise NotAllowed(f"POM {staff_id} is not active in NOMIS", code="POM_INACTIVE")
    detail = await reads.loaders.pom_detail_by_key.load((staff_id, prison))
    if detail is not None and detail.status != PomStatus.ACTIVE:
        raise NotAllowed(
            f"POM {staff_id} is {str(detail.status).lower()} at {prison}", code="POM_NOT_ACTIVE"
        )
    return role


def name_of(role: StaffRole) -> str:
    return " ".join(part for part in (role.firstName, role.lastName) if part) or str(role.staffId)


def check_version(current: int, expected: int | None) -> None:
    if expected is not None and expected != current:
        raise Conflict(
            f"The record is at version {current}, not {expected}: read it again",
            code="STALE_VERSION",
            current_version=current,
        )


def fingerprint(operation: str, values: dict[str, Any]) -> str:
    """What an idempotency key was first used for: equal requests, equal fingerprints."""
    return hashlib.sha256(
        orjson.dumps({"op": operation, **values}, option=orjson.OPT_SORT_KEYS)
    ).hexdigest()


def now() -> datetime:
    return datetime.now(UTC)
