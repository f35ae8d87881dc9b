"""Mutations: apply the allocation rules, then write the current row and its
history event in ONE transaction.

Shape of every mutation:
1. validate the input (typed `ValidationError`, nothing read yet);
2. read the facts the rules need (prisoner, POM role, staff status, the
   caller's caseloads), fresh from NOMIS rather than from the cross-request
   caches, because a rule check must not pass on stale data; an upstream
   that cannot answer refuses the mutation with `ServiceUnavailableError`;
3. check the caller may change this prison (`auth/policy.can_mutate`);
4. in one transaction, with the database holding each invariant
   (`store/guards.py`): claim the idempotency key (or replay/refuse), lock
   the POM being given the case and check its owned status under that lock,
   lock the allocation row (SELECT ... FOR UPDATE, so concurrent writers to
   one prisoner serialise), check `expectedVersion`, write the row
   (version + 1), append the event carrying that version and store the
   key's answer. Any failure rolls the whole unit back, key included.
Expected failures are raised as `DomainError`s and turned into payload union
members by `as_payload`; nothing else is caught here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.auth import policy
from allocation_api.context import RequestContext
from allocation_api.errors import (
    Conflict,
    DomainError,
    NotAllowed,
    NotFound,
    UpstreamError,
    ValidationFailed,
)
from allocation_api.resolvers.deallocation import deallocate_locked
from allocation_api.resolvers.loaders import forget
from allocation_api.resolvers.prisoners import recommended_pom_type_for
from allocation_api.rules.eligibility import in_prison_list, is_omic_eligible
from allocation_api.rules.override import OverrideReason as RuleOverrideReason
from allocation_api.rules.override import validate_override
from allocation_api.rules.pom_type import PomType as RulePomType
from allocation_api.rules.pom_type import pom_type_for_position
from allocation_api.schema import mapping
from allocation_api.schema import payloads as p
from allocation_api.schema import types as t
from allocation_api.schema.inputs import (
    AllocatePrimaryPomInput,
    AllocateSecondaryPomInput,
    CaseInformationInput,
    DeallocateInput,
    PomDetailsInput,
)
from allocation_api.schema.permissions import check_offender_no, check_prison_code
from allocation_api.store import guards
from allocation_api.store import repositories as repo
from allocation_api.store.enums import AllocationEventType as Ev
from allocation_api.store.enums import AllocationTrigger as Trigger
from allocation_api.store.enums import PomStatus as StoredPomStatus
from allocation_api.store.failures import StoreConstraintViolation, translate_store_errors
from allocation_api.store.tables import (
    Allocation,
    AllocationEvent,
    CaseInformation,
    PomDetail,
)
from allocation_api.upstream.models import Prisoner, StaffDetail, StaffRole

DETAIL_MAX = 175
MESSAGE_MAX = 2000
NAME_MAX = 200
IDEMPOTENCY_KEY_MAX = 200
CRN_MAX = 20


# --- turning outcomes into payloads ---------------------------------------------


def as_error_member(error: DomainError | UpstreamError) -> p.ErrorMember:
    if isinstance(error, UpstreamError):
        return p.ServiceUnavailableError(
            code=error.code,
            message=(
                f"Cannot check the rules now: {error.upstream} did not answer ({error.message})"
            ),
            upstream=error.upstream,
        )
    if isinstance(error, ValidationFailed):
        return p.ValidationError(code=error.code, message=error.message, field=error.field)
    if isinstance(error, NotFound):
        return p.NotFoundError(code=error.code, message=error.message)
    if isinstance(error, Conflict):
        return p.ConflictError(
            code=error.code, message=error.message, current_version=error.current_version
        )
    return p.NotAllowedError(code=error.code, message=error.message)


async def as_payload(work: Awaitable[Any]) -> Any:
    """Run a mutation; expected failures become union members, nothing is written."""
    try:
        return await work
    except (DomainError, UpstreamError) as error:
        return as_error_member(error)
    except StoreConstraintViolation as error:
        # A database guard caught what validation missed: still the caller's input.
        return p.ValidationError(
            code="CONSTRAINT_VIOLATION",
            message=f"The change breaks a data rule ({error.constraint})",
            field=None,
        )


# --- input checks -----------------------------------------------------------------


def _no_nul(value: str, field: str) -> str:
    # Postgres text cannot hold NUL; refuse it as input, with the field named.
    if "\x00" in value:
        raise ValidationFailed(
            f"{field} must not contain NUL characters", code="INVALID_CHARACTERS", field=field
        )
    return value


def _text(value: str | None, field: str, limit: int) -> str | None:
    if value is None:
        return None
    value = _no_nul(value, field).strip()
    if len(value) > limit:
        raise ValidationFailed(
            f"{field} must be at most {limit} characters (got {len(value)})",
            code="TOO_LONG",
            field=field,
        )
    return value or None


def _expected_version(value: int | None) -> int | None:
    if value is not None and value < 0:
        raise ValidationFailed(
            "expectedVersion must not be negative", code="INVALID_VERSION", field="expectedVersion"
        )
    return value


def _idempotency_key(value: str | None) -> str | None:
    if value is None:
        return None
    _no_nul(value, "idempotencyKey")
    if not value.strip() or len(value) > IDEMPOTENCY_KEY_MAX:
        raise ValidationFailed(
            f"idempotencyKey must be 1..{IDEMPOTENCY_KEY_MAX} characters",
            code="INVALID_IDEMPOTENCY_KEY",
            field="idempotencyKey",
        )
    return value


def _staff_id(value: int) -> int:
    if value <= 0:
        raise ValidationFailed("staffId must be positive", code="INVALID_STAFF_ID", field="staffId")
    return value


def _fingerprint(operation: str, values: dict[str, Any]) -> str:
    return hashlib.sha256(
        orjson.dumps({"op": operation, **values}, option=orjson.OPT_SORT_KEYS)
    ).hexdigest()


# --- facts from NOMIS (fresh) ------------------------------------------------------


async def _prisoner(ctx: RequestContext, offender_no: str) -> Prisoner:
    """The prisoner (fresh from NOMIS) if the caller may change them, else one refusal.

    Unknown, released, in transit or held outside the caller's caseloads all
    get the same code and message, naming no prison: a write must not tell
    where anyone is, or whether they exist. A caller with no caseloads is
    refused before anything is looked up.
    """
    caseloads = await ctx.caseloads_for_write()
    found = (
        await ctx.services.upstreams.prisoner_search.get_prisoner(offender_no)
        if caseloads
        else None
    )
    if found is None or not policy.can_mutate(ctx.identity, caseloads, found.prisonId):
        raise NotAllowed(
            "No prisoner with this number is in a prison where you may change allocations",
            code="FORBIDDEN_PRISON",
        )
    ctx.loaders.prisoner_by_no.prime(offender_no, found)
    return found


async def _require_prison_access(ctx: RequestContext, prison: str | None) -> str:
    if prison is None:
        raise NotAllowed("The prisoner is not in a prison", code="PRISONER_NOT_IN_PRISON")
    if not policy.can_mutate(ctx.identity, await ctx.caseloads_for_write(), prison):
        raise NotAllowed(
            f"You may not change allocations at {prison} (not in your caseloads)",
            code="FORBIDDEN_PRISON",
        )
    return prison


async def _fresh_poms(ctx: RequestContext, prison: str) -> list[StaffRole]:
    roles = await ctx.services.upstreams.prison_api.poms_at_prison(prison)
    ctx.services.caches.poms_by_prison.put(prison, roles)
    return roles


async def _require_active_pom(
    ctx: RequestContext, staff_id: int, prison: str
) -> tuple[StaffRole, StaffDetail]:
    """The POM must hold the POM role at the prison and be active (NOMIS and owned status).

    The owned status is checked here to refuse early, and again under the
    POM's lock inside the write's transaction (`_write_allocation`).
    """
    roles = await _fresh_poms(ctx, prison)
    role = next((r for r in roles if r.staffId == staff_id), None)
    staff_rows = await ctx.services.upstreams.prison_api.staff_by_ids([staff_id])
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
    detail = await ctx.loaders.pom_detail_by_key.load((staff_id, prison))
    if detail is not None and detail.status != StoredPomStatus.ACTIVE:
        raise NotAllowed(
            f"POM {staff_id} is {str(detail.status).lower()} at {prison}", code="POM_NOT_ACTIVE"
        )
    return role, staff


def _name(role: StaffRole) -> str:
    return " ".join(part for part in (role.firstName, role.lastName) if part) or str(role.staffId)


async def _actor_name(ctx: RequestContext) -> str | None:
    identity = ctx.identity
    if identity.display_name:
        return identity.display_name
    if identity.username is None:
        return identity.client_id
    try:
        users = ctx.services.upstreams.user_roles
        username = identity.username
        user = await ctx.services.caches.user_by_name.get(username, lambda: users.user(username))
    except UpstreamError:
        return identity.username
    if user is None or not (user.firstName or user.lastName):
        return identity.username
    return " ".join(part for part in (user.firstName, user.lastName) if part)


# --- the transactional unit ------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _check_version(current: int, expected: int | None) -> None:
    if expected is not None and expected != current:
        raise Conflict(
            f"The record is at version {current}, not {expected}: read it again",
            code="STALE_VERSION",
            current_version=current,
        )


def _snapshot(row: Allocation) -> dict[str, Any]:
    return orjson.loads(orjson.dumps(row.model_dump(mode="json")))  # type: ignore[no-any-return]


AllocationChange = Callable[[AsyncSession, Allocation], Awaitable[AllocationEvent]]


async def _write_allocation(
    ctx: RequestContext,
    *,
    operation: str,
    offender_no: str,
    prison: str,
    expected_version: int | None,
    idempotency_key: str | None,
    fingerprint: str,
    change: AllocationChange,
    pom_staff_id: int | None = None,
) -> t.Allocation:
    """Claim-or-replay the key, check the POM under its lock, lock and change the row,
    append its event: all or nothing.

    `pom_staff_id` is the POM the change gives the case to: it must still be
    ACTIVE at `prison` under its shared lock, which `updatePomDetails` takes
    exclusively (so a POM made INACTIVE meanwhile either sees and releases
    this case, or this write sees INACTIVE and is refused).
    """
    username = ctx.identity.username or ctx.identity.client_id
    async with translate_store_errors(), ctx.sessions() as session, session.begin():
        if idempotency_key is not None:
            seen = await guards.claim_idempotency_key(
                session,
                key=idempotency_key,
                operation=operation,
                request_hash=fingerprint,
                username=username,
                retention=ctx.settings.idempotency_retention,
            )
            if seen is not None:
                if seen.request_hash != fingerprint or seen.created_by_username != username:
                    raise Conflict(
                        "This idempotencyKey was used for a different request",
                        code="IDEMPOTENCY_KEY_REUSED",
                        current_version=await guards.current_version(
                            session, Allocation, {"offender_no": offender_no}
                        ),
                    )
                return mapping.allocation(Allocation.model_validate(seen.response))
        if pom_staff_id is not None:
            status = await guards.pom_status_locked(session, pom_staff_id, prison)
            if status != StoredPomStatus.ACTIVE:
                raise NotAllowed(
                    f"POM {pom_staff_id} is {str(status).lower()} at {prison}",
                    code="POM_NOT_ACTIVE",
                )
        row = await repo.lock_allocation(session, offender_no, prison)
        _check_version(row.version, expected_version)
        event = await change(session, row)
        saved = await repo.save_allocation(session, row)
        event.offender_no = offender_no
        event.prison_code = saved.prison_code
        event.allocation_version = saved.version
        event.primary_pom_staff_id = saved.primary_pom_staff_id
        event.primary_pom_name = saved.primary_pom_name
        event.secondary_pom_staff_id = saved.secondary_pom_staff_id
        event.secondary_pom_name = saved.secondary_pom_name
        event.created_by_username = ctx.identity.username or ctx.identity.client_id
        event.created_by_name = saved.created_by_name
        await repo.append_event(session, event)
        if idempotency_key is not None:
            await guards.store_idempotent_response(
                session, key=idempotency_key, operation=operation, response=_snapshot(saved)
            )
    forget(ctx.loaders.owned_by_offender_no, offender_no)
    forget(ctx.loaders.events_by_offender_no, offender_no)
    return mapping.allocation(saved)


# --- allocatePrimaryPom ------------------------------------------------------------


async def allocate_primary_pom(ctx: RequestContext, inp: AllocatePrimaryPomInput) -> Any:
    return await as_payload(_allocate_primary_pom(ctx, inp))


async def _allocate_primary_pom(ctx: RequestContext, inp: AllocatePrimaryPomInput) -> t.Allocation:
    offender_no = check_offender_no(inp.offender_no)
    staff_id = _staff_id(inp.staff_id)
    override_detail = _text(inp.override_detail, "overrideDetail", DETAIL_MAX)
    suitability_detail = _text(inp.suitability_detail, "suitabilityDetail", DETAIL_MAX)
    message = _text(inp.message, "message", MESSAGE_MAX)
    expected = _expected_version(inp.expected_version)
    key = _idempotency_key(inp.idempotency_key)

    prisoner = await _prisoner(ctx, offender_no)
    prison = await _require_prison_access(ctx, prisoner.prisonId)
    if not (in_prison_list(prisoner) and is_omic_eligible(prisoner, ctx.today)):
        raise NotAllowed(
            f"{offender_no} is not in scope of OMiC (age, legal status or sentence)",
            code="PRISONER_NOT_ELIGIBLE",
        )
    case_info = await ctx.loaders.case_information(offender_no)
    if case_info is None or case_info.tier is None:
        raise NotAllowed(
            f"{offender_no} needs case information with a tier before allocation",
            code="CASE_INFORMATION_REQUIRED",
        )
    role, _staff = await _require_active_pom(ctx, staff_id, prison)
    recommended = await recommended_pom_type_for(ctx, prisoner)
    chosen = pom_type_for_position(role.position)
    reasons = validate_override(
        chosen,
        RulePomType(recommended.value),
        [RuleOverrideReason(r.value) for r in inp.override_reasons or ()],
        suitability_detail,
        override_detail,
    )
    actor = await _actor_name(ctx)
    fingerprint = _fingerprint(
        "allocatePrimaryPom",
        {
            "offenderNo": offender_no,
            "staffId": staff_id,
            "reasons": [r.value for r in reasons],
            "overrideDetail": override_detail,
            "suitabilityDetail": suitability_detail,
            "message": message,
        },
    )

    async def change(session: AsyncSession, row: Allocation) -> AllocationEvent:
        if row.primary_pom_staff_id == staff_id and row.prison_code == prison:
            raise NotAllowed(f"{_name(role)} is already the POM", code="ALREADY_PRIMARY_POM")
        moved = row.prison_code != prison
        if row.secondary_pom_staff_id == staff_id and not moved:
            raise NotAllowed(
                f"{_name(role)} is the co-working POM: deallocate them first",
                code="SAME_AS_SECONDARY_POM",
            )
        previous_primary, previous_secondary = row.primary_pom_staff_id, row.secondary_pom_staff_id
        event_type = Ev.REALLOCATE_PRIMARY_POM if previous_primary else Ev.ALLOCATE_PRIMARY_POM
        row.prison_code = prison
        if moved:
            # A co-worker from the previous prison does not follow the prisoner.
            row.secondary_pom_staff_id = row.secondary_pom_name = None
        row.primary_pom_staff_id = staff_id
        row.primary_pom_name = _name(role)
        row.primary_pom_allocated_at = _now()
        row.allocated_at_tier = case_info.tier
        row.recommended_pom_type = recommended.value  # type: ignore[assignment]
        row.override_reasons = [r.value for r in reasons]  # type: ignore[misc]
        row.override_detail = override_detail
        row.suitability_detail = suitability_detail
        row.message = message
        row.created_by_username = ctx.identity.username or ctx.identity.client_id
        row.created_by_name = actor
        return AllocationEvent(
            offender_no=offender_no,
            prison_code=prison,
            event=event_type,
            trigger=Trigger.USER,
            previous_primary_pom_staff_id=previous_primary,
            previous_secondary_pom_staff_id=previous_secondary,
            allocated_at_tier=row.allocated_at_tier,
            recommended_pom_type=row.recommended_pom_type,
            override_reasons=list(row.override_reasons),
            override_detail=override_detail,
            suitability_detail=suitability_detail,
            message=message,
            allocation_version=0,
        )

    return await _write_allocation(
        ctx,
        operation="allocatePrimaryPom",
        offender_no=offender_no,
        prison=prison,
        expected_version=expected,
        idempotency_key=key,
        fingerprint=fingerprint,
        change=change,
        pom_staff_id=staff_id,
    )


# --- allocateSecondaryPom ------------------------------------------------------------


async def allocate_secondary_pom(ctx: RequestContext, inp: AllocateSecondaryPomInput) -> Any:
    return await as_payload(_allocate_secondary_pom(ctx, inp))


async def _allocate_secondary_pom(
    ctx: RequestContext, inp: AllocateSecondaryPomInput
) -> t.Allocation:
    offender_no = check_offender_no(inp.offender_no)
    staff_id = _staff_id(inp.staff_id)
    message = _text(inp.message, "message", MESSAGE_MAX)
    expected = _expected_version(inp.expected_version)
    key = _idempotency_key(inp.idempotency_key)

    prisoner = await _prisoner(ctx, offender_no)
    prison = await _require_prison_access(ctx, prisoner.prisonId)
    role, _staff = await _require_active_pom(ctx, staff_id, prison)
    actor = await _actor_name(ctx)
    fingerprint = _fingerprint(
        "allocateSecondaryPom", {"offenderNo": offender_no, "staffId": staff_id, "message": message}
    )

    async def change(session: AsyncSession, row: Allocation) -> AllocationEvent:
        if row.primary_pom_staff_id is None or row.prison_code != prison:
            raise NotAllowed(
                f"{offender_no} has no primary POM at {prison}: allocate one first",
                code="NO_PRIMARY_POM",
            )
        if row.primary_pom_staff_id == staff_id:
            raise NotAllowed(
                "The co-working POM must differ from the primary POM", code="SAME_AS_PRIMARY_POM"
            )
        if row.secondary_pom_staff_id == staff_id:
            raise NotAllowed(f"{_name(role)} is already co-working", code="ALREADY_SECONDARY_POM")
        previous = row.secondary_pom_staff_id
        row.secondary_pom_staff_id = staff_id
        row.secondary_pom_name = _name(role)
        row.created_by_username = ctx.identity.username or ctx.identity.client_id
        row.created_by_name = actor
        return AllocationEvent(
            offender_no=offender_no,
            prison_code=prison,
            event=Ev.REALLOCATE_SECONDARY_POM if previous else Ev.ALLOCATE_SECONDARY_POM,
            trigger=Trigger.USER,
            previous_primary_pom_staff_id=row.primary_pom_staff_id,
            previous_secondary_pom_staff_id=previous,
            allocated_at_tier=row.allocated_at_tier,
            recommended_pom_type=row.recommended_pom_type,
            message=message,
            allocation_version=0,
        )

    return await _write_allocation(
        ctx,
        operation="allocateSecondaryPom",
        offender_no=offender_no,
        prison=prison,
        expected_version=expected,
        idempotency_key=key,
        fingerprint=fingerprint,
        change=change,
        pom_staff_id=staff_id,
    )


# --- deallocations ---------------------------------------------------------------------


async def deallocate_primary_pom(ctx: RequestContext, inp: DeallocateInput) -> Any:
    return await as_payload(_deallocate(ctx, inp, primary=True))


async def deallocate_secondary_pom(ctx: RequestContext, inp: DeallocateInput) -> Any:
    return await as_payload(_deallocate(ctx, inp, primary=False))


async def _deallocate(ctx: RequestContext, inp: DeallocateInput, *, primary: bool) -> t.Allocation:
    """Owned data and the caller's caseloads only: works while prisoner search and
    prison-api are down (NOMIS user roles must answer for the prison check)."""
    offender_no = check_offender_no(inp.offender_no)
    expected = _expected_version(inp.expected_version)
    key = _idempotency_key(inp.idempotency_key)
    operation = "deallocatePrimaryPom" if primary else "deallocateSecondaryPom"
    current = await ctx.loaders.allocation(offender_no)
    if current is None or not policy.can_mutate(
        ctx.identity, await ctx.caseloads_for_write(), current.prison_code
    ):
        # Access first (`_prisoner`'s one refusal), so another prison's callers
        # learn neither who is allocated nor where.
        await _prisoner(ctx, offender_no)
        if current is None:
            raise NotFound(f"{offender_no} has never been allocated", code="ALLOCATION_NOT_FOUND")
    prison = await _require_prison_access(ctx, current.prison_code)
    actor = await _actor_name(ctx)

    async def change(session: AsyncSession, row: Allocation) -> AllocationEvent:
        if row.prison_code != prison:
            raise Conflict(
                "The allocation moved prison meanwhile: read it again",
                code="STALE_VERSION",
                current_version=row.version,
            )
        previous_primary, previous_secondary = row.primary_pom_staff_id, row.secondary_pom_staff_id
        if primary:
            if previous_primary is None:
                raise NotAllowed(f"{offender_no} has no primary POM", code="NO_PRIMARY_POM")
            # The co-working POM stays; the case returns to the unallocated list.
            row.primary_pom_staff_id = row.primary_pom_name = None
            row.primary_pom_allocated_at = None
        else:
            if previous_secondary is None:
                raise NotAllowed(f"{offender_no} has no co-working POM", code="NO_SECONDARY_POM")
            row.secondary_pom_staff_id = row.secondary_pom_name = None
        row.created_by_username = ctx.identity.username or ctx.identity.client_id
        row.created_by_name = actor
        return AllocationEvent(
            offender_no=offender_no,
            prison_code=prison,
            event=Ev.DEALLOCATE_PRIMARY_POM if primary else Ev.DEALLOCATE_SECONDARY_POM,
            trigger=Trigger.USER,
            previous_primary_pom_staff_id=previous_primary,
            previous_secondary_pom_staff_id=previous_secondary,
            allocated_at_tier=row.allocated_at_tier,
            recommended_pom_type=row.recommended_pom_type,
            allocation_version=0,
        )

    return await _write_allocation(
        ctx,
        operation=operation,
        offender_no=offender_no,
        prison=prison,
        expected_version=expected,
        idempotency_key=key,
        fingerprint=_fingerprint(operation, {"offenderNo": offender_no}),
        change=change,
    )


# --- updateCaseInformation ------------------------------------------------------------


def _email(value: str | None) -> str | None:
    value = _text(value, "comEmail", 254)
    if value is not None and (
        value.count("@") != 1 or value.startswith("@") or value.endswith("@")
    ):
        raise ValidationFailed(
            f"{value!r} is not an email address", code="INVALID_EMAIL", field="comEmail"
        )
    return value


def _crn(value: str | None) -> str | None:
    value = _text(value, "crn", CRN_MAX)
    if value is None:
        return None
    value = value.upper()
    if not (len(value) == 7 and value[0].isalpha() and value[1:].isdigit()):
        raise ValidationFailed(
            f"{value!r} is not a CRN (one letter and six digits, e.g. X123456)",
            code="INVALID_CRN",
            field="crn",
        )
    return value


async def update_case_information(ctx: RequestContext, inp: CaseInformationInput) -> Any:
    return await as_payload(_update_case_information(ctx, inp))


async def _update_case_information(
    ctx: RequestContext, inp: CaseInformationInput
) -> t.CaseInformation:
    offender_no = check_offender_no(inp.offender_no)
    if inp.mappa_level is not None and not 0 <= inp.mappa_level <= 3:
        raise ValidationFailed(
            "mappaLevel must be 0, 1, 2 or 3 (null = unknown)",
            code="INVALID_MAPPA_LEVEL",
            field="mappaLevel",
        )
    values = {
        "tier": None if inp.tier is None else inp.tier.value,
        "probation_service": None if inp.probation_service is None else inp.probation_service.value,
        "mappa_level": inp.mappa_level,
        "crn": _crn(inp.crn),
        "com_name": _text(inp.com_name, "comName", NAME_MAX),
        "com_email": _email(inp.com_email),
        "team_name": _text(inp.team_name, "teamName", NAME_MAX),
        "ldu_code": _text(inp.ldu_code, "lduCode", 20),
        "manual_entry": inp.manual_entry,
    }
    expected = _expected_version(inp.expected_version)
    prisoner = await _prisoner(ctx, offender_no)
    await _require_prison_access(ctx, prisoner.prisonId)

    columns = {**values, "updated_by_username": ctx.identity.username or ctx.identity.client_id}
    async with translate_store_errors(), ctx.sessions() as session, session.begin():
        # expectedVersion 0 creates or is refused; n updates version n or is refused.
        saved = await guards.write_versioned(
            session,
            CaseInformation,
            {"offender_no": offender_no},
            create=columns,
            change=columns,
            expected_version=expected,
        )
    forget(ctx.loaders.owned_by_offender_no, offender_no)
    return mapping.case_information(saved)


# --- updatePomDetails ---------------------------------------------------------------------


async def update_pom_details(ctx: RequestContext, inp: PomDetailsInput) -> Any:
    return await as_payload(_update_pom_details(ctx, inp))


def _working_pattern(value: float | None) -> float | None:
    if value is None:
        return None
    if not 0.1 <= value <= 1.0 or round(value, 2) != value:
        raise ValidationFailed(
            "workingPattern must be between 0.1 and 1.0 with at most two decimals",
            code="INVALID_WORKING_PATTERN",
            field="workingPattern",
        )
    return value


async def _update_pom_details(ctx: RequestContext, inp: PomDetailsInput) -> t.Pom:
    staff_id = _staff_id(inp.staff_id)
    prison = check_prison_code(inp.prison_code)
    pattern = _working_pattern(inp.working_pattern)
    expected = _expected_version(inp.expected_version)
    await _require_prison_access(ctx, prison)
    roles = await _fresh_poms(ctx, prison)
    role = next((r for r in roles if r.staffId == staff_id), None)
    if role is None:
        raise NotFound(f"No POM {staff_id} at {prison}", code="POM_NOT_FOUND")
    actor = await _actor_name(ctx)
    username = ctx.identity.username or ctx.identity.client_id

    change: dict[str, Any] = {"updated_by_username": username}
    if pattern is not None:
        change["working_pattern"] = pattern
    if inp.status is not None:
        change["status"] = StoredPomStatus(inp.status.value)
    defaults = {
        "working_pattern": mapping.default_working_pattern(role),
        "status": StoredPomStatus.ACTIVE,
    }

    async with translate_store_errors(), ctx.sessions() as session, session.begin():
        # Exclusive: waits for allocations to this POM in flight, and makes later
        # ones wait for this change (they then read the new status).
        await guards.lock_pom(session, staff_id, prison, exclusive=True)
        existing = (
            await session.exec(
                select(PomDetail)
                .where(PomDetail.staff_id == staff_id, PomDetail.prison_code == prison)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).first()
        was_inactive = existing is not None and existing.status == StoredPomStatus.INACTIVE
        saved = await guards.write_versioned(
            session,
            PomDetail,
            {"staff_id": staff_id, "prison_code": prison},
            create={**defaults, **change},
            change=change,
            expected_version=expected,
        )
        if saved.status == StoredPomStatus.INACTIVE and not was_inactive:
            await _release_cases_of_inactive_pom(session, staff_id, prison, username, actor)
    forget(ctx.loaders.pom_detail_by_key, (staff_id, prison))
    forget(ctx.loaders.caseload_by_staff_and_prison, (staff_id, prison))
    return mapping.pom(staff_id, prison, role=role, staff=None, detail=saved)


async def _release_cases_of_inactive_pom(
    session: AsyncSession, staff_id: int, prison: str, username: str | None, actor: str | None
) -> None:
    """A POM made inactive loses every case at that prison (trigger INACTIVE_POM)."""
    cases = (
        await session.exec(
            select(Allocation)
            .where(
                Allocation.prison_code == prison,
                (Allocation.primary_pom_staff_id == staff_id)
                | (Allocation.secondary_pom_staff_id == staff_id),
            )
            .order_by(Allocation.offender_no)
            .with_for_update()
        )
    ).all()
    for row in cases:
        primary = row.primary_pom_staff_id == staff_id
        await deallocate_locked(
            session,
            row,
            primary=primary,
            secondary=not primary,
            event=Ev.DEALLOCATE_PRIMARY_POM if primary else Ev.DEALLOCATE_SECONDARY_POM,
            trigger=Trigger.INACTIVE_POM,
            username=username,
            name=actor,
        )
