"""History rows, once written, can never be changed or removed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.store.enums import AllocationEventType, AllocationTrigger
from allocation_api.store.failures import StoreConstraintViolation, translate_store_errors
from allocation_api.store.tables import AllocationEvent
from allocation_api.store.writes import append_event


@pytest.fixture
async def event_id(
    sessions: async_sessionmaker[AsyncSession], new_offender_no: Callable[[], str]
) -> int:
    async with sessions() as session, session.begin():
        stored = await append_event(
            session,
            AllocationEvent(
                offender_no=new_offender_no(),
                prison_code="LEI",
                event=AllocationEventType.ALLOCATE_PRIMARY_POM,
                trigger=AllocationTrigger.USER,
                primary_pom_staff_id=485_926,
                allocation_version=1,
            ),
        )
    assert stored.id is not None
    return stored.id


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE allocation_event SET primary_pom_staff_id = 1 WHERE id = :id",
        "UPDATE allocation_event SET message = 'edited' WHERE id = :id",
        "DELETE FROM allocation_event WHERE id = :id",
        "DELETE FROM allocation_event WHERE id = :id AND false",  # even when nothing matches
        "TRUNCATE allocation_event",
    ],
)
async def test_history_rows_cannot_be_changed_or_removed(
    engine: AsyncEngine, event_id: int, statement: str
) -> None:
    async with engine.connect() as connection:
        with pytest.raises(StoreConstraintViolation) as raised:
            async with translate_store_errors():
                await connection.execute(sa.text(statement), {"id": event_id})
        await connection.rollback()
        assert raised.value.constraint == "allocation_event_append_only"
        assert raised.value.sqlstate == "23001"  # restrict_violation

        remaining = await connection.scalar(
            sa.text("SELECT primary_pom_staff_id FROM allocation_event WHERE id = :id"),
            {"id": event_id},
        )
    assert remaining == 485_926


async def test_orm_changes_to_a_history_row_are_refused_at_flush(
    sessions: async_sessionmaker[AsyncSession], event_id: int
) -> None:
    async with sessions() as session:
        event = await session.get_one(AllocationEvent, event_id)
        event.message = "rewritten history"
        with pytest.raises(StoreConstraintViolation):
            async with translate_store_errors():
                await session.commit()
