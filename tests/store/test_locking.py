"""Concurrent writers for one prisoner serialise on the allocation row."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.store import reads, writes
from allocation_api.store.enums import AllocationEventType, AllocationTrigger
from allocation_api.store.guards import claim_idempotency_key, store_idempotent_response
from allocation_api.store.read_pool import ReadPool
from allocation_api.store.tables import AllocationEvent, IdempotencyKey
from tests.store import session_reads

Sessions = async_sessionmaker[AsyncSession]
BLOCKED_FOR_S = 0.3


async def test_a_second_locker_waits_for_the_first_and_no_second_row_appears(
    sessions: Sessions, new_offender_no: Callable[[], str]
) -> None:
    no = new_offender_no()
    async with sessions() as first, sessions() as second:
        await first.begin()
        allocation = await writes.lock_allocation(first, no, "LEI")  # creates the row

        async def lock_second() -> tuple[int, int | None]:
            async with second.begin():
                row = await writes.lock_allocation(second, no, "LEI")
                return row.version, row.primary_pom_staff_id

        waiting = asyncio.create_task(lock_second())
        await asyncio.sleep(BLOCKED_FOR_S)
        assert not waiting.done(), "the second transaction did not wait for the lock"

        allocation.primary_pom_staff_id = 485_926
        await writes.save_allocation(first, allocation)
        await first.commit()

        # It sees the first transaction's committed change, not its own new row.
        assert await asyncio.wait_for(waiting, 5) == (1, 485_926)

    async with sessions() as session:
        count = await session.scalar(
            sa.text("SELECT count(*) FROM allocation WHERE offender_no = :no"), {"no": no}
        )
    assert count == 1


async def test_many_concurrent_changes_each_get_their_own_version(
    sessions: Sessions, read_pool: ReadPool, new_offender_no: Callable[[], str]
) -> None:
    no = new_offender_no()
    writers = 8

    async def change(staff_id: int) -> None:
        async with sessions() as session, session.begin():
            allocation = await writes.lock_allocation(session, no, "LEI")
            previous = allocation.primary_pom_staff_id
            allocation.primary_pom_staff_id = staff_id
            saved = await writes.save_allocation(session, allocation)
            await writes.append_event(
                session,
                AllocationEvent(
                    offender_no=no,
                    prison_code="LEI",
                    event=AllocationEventType.REALLOCATE_PRIMARY_POM
                    if previous
                    else AllocationEventType.ALLOCATE_PRIMARY_POM,
                    trigger=AllocationTrigger.USER,
                    primary_pom_staff_id=staff_id,
                    previous_primary_pom_staff_id=previous,
                    allocation_version=saved.version,
                ),
            )

    await asyncio.wait_for(asyncio.gather(*(change(1000 + i) for i in range(writers))), 20)

    async with sessions() as session:
        final = (await session_reads.allocations_by_offender_nos(session, [no]))[no]
        history = (await reads.events_by_offender_nos(read_pool, [no]))[no]
    assert final.version == writers
    assert [e.allocation_version for e in history] == list(range(1, writers + 1))
    # Each event saw the POM the previous one left: the chain is unbroken.
    assert history[0].previous_primary_pom_staff_id is None
    for before, after in itertools.pairwise(history):
        assert after.previous_primary_pom_staff_id == before.primary_pom_staff_id
    assert final.primary_pom_staff_id == history[-1].primary_pom_staff_id


async def test_of_two_requests_claiming_the_same_idempotency_key_exactly_one_wins(
    sessions: Sessions,
) -> None:
    key = f"race-{uuid.uuid4()}"

    async def claim(session: AsyncSession) -> IdempotencyKey | None:
        return await claim_idempotency_key(
            session, key=key, operation="op", request_hash="h", username=None
        )

    async with sessions() as first, sessions() as second:
        await first.begin()
        assert await claim(first) is None  # claimed

        async def claim_second() -> dict[str, object] | None:
            async with second.begin():
                found = await claim(second)
                return None if found is None else found.response

        waiting = asyncio.create_task(claim_second())
        await asyncio.sleep(BLOCKED_FOR_S)
        assert not waiting.done(), "the second insert did not wait for the first"
        await store_idempotent_response(first, key=key, operation="op", response={"ok": True})
        await first.commit()
        # The second gets the first's committed answer to replay, and writes nothing.
        assert await asyncio.wait_for(waiting, 5) == {"ok": True}
