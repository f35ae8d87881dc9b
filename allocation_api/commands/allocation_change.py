"""One user change of an allocation row: claim or replay, check, write, append its event.

Every user command on an allocation runs through `change_allocation`: in one
transaction, with the database holding each invariant (`store/guards.py`), it
claims the idempotency key (or replays / refuses it), locks the POM being
given the case and checks its owned status under that lock, locks the row
(SELECT ... FOR UPDATE, so concurrent writers to one prisoner serialise),
checks `expectedVersion`, lets the command change the row, writes it
(version + 1), appends the event carrying that version, adds the outgoing
domain event when the primary POM changed (`events/outbox.py`) and stores the
key's answer. Any failure rolls the whole unit back, key included.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.commands.actor import Actor
from allocation_api.commands.checks import check_version
from allocation_api.commands.unit_of_work import UnitOfWork
from allocation_api.errors import Conflict, NotAllowed
from allocation_api.events import outbox
from allocation_api.store import guards
from allocation_api.store import repositories as repo
from allocation_api.store.enums import AllocationEventType, AllocationTrigger, PomStatus
from allocation_api.store.tables import Allocation, AllocationEvent

Change = Callable[[AsyncSession, Allocation], Awaitable[AllocationEvent]]
"""Changes the locked row in place (or raises a `DomainError`) and returns its
event; `change_allocation` fills in the event's row snapshot and version."""


@dataclass(frozen=True, slots=True)
class Replay:
    """How to recognise a retry: the operation, its key and the request's fingerprint."""

    operation: str
    key: str | None
    fingerprint: str


def user_event(
    row: Allocation,
    event: AllocationEventType,
    *,
    previous_primary: int | None,
    previous_secondary: int | None,
    **details: Any,
) -> AllocationEvent:
    """The history event of a user's change to `row` (already changed), before
    `change_allocation` fills in the POMs, actor and version it was saved with.
    `details`: the change's own columns (override reasons and details, message)."""
    return AllocationEvent(
        offender_no=row.offender_no,
        prison_code=row.prison_code,
        event=event,
        trigger=AllocationTrigger.USER,
        previous_primary_pom_staff_id=previous_primary,
        previous_secondary_pom_staff_id=previous_secondary,
        allocated_at_tier=row.allocated_at_tier,
        recommended_pom_type=row.recommended_pom_type,
        allocation_version=0,
        **details,
    )


def _snapshot(row: Allocation) -> dict[str, Any]:
    return orjson.loads(orjson.dumps(row.model_dump(mode="json")))  # type: ignore[no-any-return]


async def change_allocation(
    uow: UnitOfWork,
    actor: Actor,
    *,
    offender_no: str,
    prison: str,
    expected_version: int | None,
    replay: Replay,
    change: Change,
    pom_staff_id: int | None = None,
) -> Allocation:
    """Claim-or-replay the key, check the POM under its lock, lock and change the row,
    append its event: all or nothing.

    `pom_staff_id` is the POM the change gives the case to: it must still be
    ACTIVE at `prison` under its shared lock, which `updatePomDetails` takes
    exclusively (so a POM made INACTIVE meanwhile either sees and releases
    this case, or this write sees INACTIVE and is refused).
    """
    async with uow.transaction() as session:
        if replay.key is not None:
            seen = await guards.claim_idempotency_key(
                session,
                key=replay.key,
                operation=replay.operation,
                request_hash=replay.fingerprint,
                username=actor.username,
                retention=uow.idempotency_retention,
            )
            if seen is not None:
                if (
                    seen.request_hash != replay.fingerprint
                    or seen.created_by_username != actor.username
                ):
                    raise Conflict(
                        "This idempotencyKey was used for a different request",
                        code="IDEMPOTENCY_KEY_REUSED",
                        current_version=await guards.current_version(
                            session, Allocation, {"offender_no": offender_no}
                        ),
                    )
                return Allocation.model_validate(seen.response)
        if pom_staff_id is not None:
            status = await guards.pom_status_locked(session, pom_staff_id, prison)
            if status != PomStatus.ACTIVE:
                raise NotAllowed(
                    f"POM {pom_staff_id} is {str(status).lower()} at {prison}",
                    code="POM_NOT_ACTIVE",
                )
        row = await repo.lock_allocation(session, offender_no, prison)
        check_version(row.version, expected_version)
        event = await change(session, row)
        saved = await repo.save_allocation(session, row)
        event.offender_no = offender_no
        event.prison_code = saved.prison_code
        event.allocation_version = saved.version
        event.primary_pom_staff_id = saved.primary_pom_staff_id
        event.primary_pom_name = saved.primary_pom_name
        event.secondary_pom_staff_id = saved.secondary_pom_staff_id
        event.secondary_pom_name = saved.secondary_pom_name
        event.created_by_username = actor.username
        event.created_by_name = saved.created_by_name
        await repo.append_event(session, event)
        await outbox.allocation_changed(session, event)
        if replay.key is not None:
            await guards.store_idempotent_response(
                session, key=replay.key, operation=replay.operation, response=_snapshot(saved)
            )
    uow.allocations_changed.add(offender_no)
    return saved
