"""One user change of an allocation row: lock, replay or check, write, append its event.

Every user command on an allocation runs through `change_allocation`: in one
transaction it locks the row (SELECT ... FOR UPDATE, so concurrent writers to
one prisoner serialise), replays an idempotency key, checks
`expectedVersion`, lets the command change the row, writes it (version + 1)
and appends the event carrying that version. Any failure rolls the whole
unit back.
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
from allocation_api.errors import Conflict
from allocation_api.store import repositories as repo
from allocation_api.store.tables import Allocation, AllocationEvent, IdempotencyKey

Change = Callable[[AsyncSession, Allocation], Awaitable[AllocationEvent]]
"""Changes the locked row in place (or raises a `DomainError`) and returns its
event; `change_allocation` fills in the event's row snapshot and version."""


@dataclass(frozen=True, slots=True)
class Replay:
    """How to recognise a retry: the operation, its key and the request's fingerprint."""

    operation: str
    key: str | None
    fingerprint: str


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
) -> Allocation:
    """Lock, replay-or-check, change the row, append its event: all or nothing."""
    async with uow.transaction() as session:
        row = await repo.lock_allocation(session, offender_no, prison)
        if replay.key is not None:
            seen = await repo.find_idempotent_response(session, replay.key, replay.operation)
            if seen is not None:
                if (
                    seen.request_hash != replay.fingerprint
                    or seen.created_by_username != actor.username
                ):
                    raise Conflict(
                        "This idempotencyKey was used for a different request",
                        code="IDEMPOTENCY_KEY_REUSED",
                        current_version=row.version,
                    )
                return Allocation.model_validate(seen.response)
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
        if replay.key is not None:
            await repo.record_idempotent_response(
                session,
                IdempotencyKey(
                    key=replay.key,
                    operation=replay.operation,
                    request_hash=replay.fingerprint,
                    response=_snapshot(saved),
                    created_by_username=actor.username,
                ),
            )
    uow.allocations_changed.add(offender_no)
    return saved
