"""Writes, made inside the caller's transaction (`async with session.begin():`).

How a change to an allocation is written, so that concurrent requests for
the same prisoner serialise and history cannot fork:

    async with translate_store_errors(), session.begin():
        allocation = await lock_allocation(session, offender_no, prison_code)
        ...check expectedVersion against allocation.version, apply the rules,
           set the new POM fields on `allocation`...
        allocation = await save_allocation(session, allocation)   # version + 1
        await append_event(session, AllocationEvent(..., allocation_version=allocation.version))

Every function here is a fixed, small number of statements (documented on
each) and runs with autoflush off, so objects the caller has modified are
never flushed behind its back as extra, unversioned UPDATEs. Objects
returned are the session's own, refreshed from the database.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.errors import Conflict
from allocation_api.store.failures import translate_store_errors
from allocation_api.store.tables import Allocation, AllocationEvent, CaseEvent, PomDetail

__all__ = [
    "allocations_with_a_pom",
    "append_case_event",
    "append_event",
    "lock_allocation",
    "lock_cases_of_pom",
    "lock_existing_allocation",
    "lock_pom_detail",
    "save_allocation",
]

# Columns the database maintains; callers' values for them are ignored.
_MAINTAINED = frozenset({"created_at", "updated_at", "version"})


@translate_store_errors()
async def lock_allocation(session: AsyncSession, offender_no: str, prison_code: str) -> Allocation:
    """The prisoner's allocation row, locked FOR UPDATE until the transaction ends.

    A prisoner without a row gets one first (version 0, no POMs, at
    `prison_code`); the insert is ON CONFLICT DO NOTHING, so two requests
    racing to create it end up locking the same single row. An existing row
    is returned as it is, even at another prison: moving it is the caller's
    decision. 1 statement when the row exists, 3 when it is created.
    """
    with session.no_autoflush:
        locked = await _select_for_update(session, offender_no)
        if locked is not None:
            return locked
        await session.exec(
            insert(Allocation)
            .values(offender_no=offender_no, prison_code=prison_code)
            .on_conflict_do_nothing(index_elements=[col(Allocation.offender_no)])
        )
        locked = await _select_for_update(session, offender_no)
    if locked is None:  # pragma: no cover - the row was just inserted or already there
        raise RuntimeError(f"allocation row for {offender_no} vanished while locking it")
    return locked


async def _select_for_update(session: AsyncSession, offender_no: str) -> Allocation | None:
    statement = (
        select(Allocation)
        .where(col(Allocation.offender_no) == offender_no)
        .with_for_update()
        # The row may already be in the session from an earlier, unlocked read:
        # the locked values must win over that stale copy.
        .execution_options(populate_existing=True)
    )
    return (await session.exec(statement)).one_or_none()


async def lock_existing_allocation(session: AsyncSession, offender_no: str) -> Allocation | None:
    """The prisoner's allocation row locked FOR UPDATE, if there is one (1 statement)."""
    statement = select(Allocation).where(col(Allocation.offender_no) == offender_no)
    return (await session.exec(statement.with_for_update())).first()


async def lock_pom_detail(
    session: AsyncSession, staff_id: int, prison_code: str
) -> PomDetail | None:
    """A POM's recorded details at a prison locked FOR UPDATE, if recorded (1 statement)."""
    statement = select(PomDetail).where(
        col(PomDetail.staff_id) == staff_id, col(PomDetail.prison_code) == prison_code
    )
    return (await session.exec(statement.with_for_update())).first()


async def lock_cases_of_pom(
    session: AsyncSession, staff_id: int, prison_code: str
) -> Sequence[Allocation]:
    """Allocations at the prison with this POM (primary or co-working), locked FOR
    UPDATE, by prisoner number (1 statement)."""
    statement = (
        select(Allocation)
        .where(
            col(Allocation.prison_code) == prison_code,
            (col(Allocation.primary_pom_staff_id) == staff_id)
            | (col(Allocation.secondary_pom_staff_id) == staff_id),
        )
        .order_by(col(Allocation.offender_no))
        .with_for_update()
    )
    return (await session.exec(statement)).all()


async def allocations_with_a_pom(session: AsyncSession) -> Sequence[Allocation]:
    """Every allocation that has a primary or co-working POM, by prisoner number (1 statement)."""
    statement = (
        select(Allocation)
        .where(
            col(Allocation.primary_pom_staff_id).is_not(None)
            | col(Allocation.secondary_pom_staff_id).is_not(None)
        )
        .order_by(col(Allocation.offender_no))
    )
    return (await session.exec(statement)).all()


@translate_store_errors()
async def save_allocation(session: AsyncSession, allocation: Allocation) -> Allocation:
    """Write every field of `allocation`, bump `version` by one, set `updated_at` (1 statement).

    `allocation.version` must be the version the caller read (under
    `lock_allocation`); if the stored row has another version the write is
    refused with `Conflict`. Returns the refreshed row (the same object when
    `allocation` came from this session).
    """
    values = _values(allocation, skip=_MAINTAINED | {"offender_no"}, keep_none=True)
    statement = (
        sa.update(Allocation)
        .where(
            col(Allocation.offender_no) == allocation.offender_no,
            col(Allocation.version) == allocation.version,
        )
        .values(**values, version=col(Allocation.version) + 1, updated_at=sa.func.now())
        .returning(Allocation)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    with session.no_autoflush:
        saved = (await session.exec(statement)).scalars().one_or_none()
    if saved is None:
        raise Conflict(
            f"the allocation of {allocation.offender_no} is no longer at version "
            f"{allocation.version}",
        )
    return saved  # type: ignore[no-any-return]


@translate_store_errors()
async def append_event(session: AsyncSession, event: AllocationEvent) -> AllocationEvent:
    """Insert one history row and return it with `id` and `created_at` (1 statement).

    `event.allocation_version` must be the allocation's version after the
    change; a second event for the same version is refused by
    `uq_allocation_event_offender_no_version`.
    """
    values = _values(event, skip={"id"})
    statement = insert(AllocationEvent).values(**values).returning(AllocationEvent)
    with session.no_autoflush:
        return (await session.exec(statement)).scalars().one()  # type: ignore[no-any-return]


@translate_store_errors()
async def append_case_event(session: AsyncSession, event: CaseEvent) -> CaseEvent:
    """Insert one case history row and return it with `id` and `created_at` (1 statement)."""
    values = _values(event, skip={"id"})
    statement = insert(CaseEvent).values(**values).returning(CaseEvent)
    with session.no_autoflush:
        return (await session.exec(statement)).scalars().one()  # type: ignore[no-any-return]


def _values(obj: SQLModel, *, skip: Collection[str], keep_none: bool = False) -> dict[str, Any]:
    """Column values of `obj`; None is left out where the database has a default for it,
    so a freshly built object gets the database's default rather than NULL."""
    values: dict[str, Any] = {}
    for column in sa.inspect(type(obj)).columns:
        if column.key in skip:
            continue
        value = getattr(obj, column.key)
        if value is None and column.server_default is not None and not keep_none:
            continue
        values[column.key] = value
    return values
