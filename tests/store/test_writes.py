"""Writes inside the caller's transaction: locking, versioning, history, upserts, replays."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.calls import track_calls
from allocation_api.errors import Conflict
from allocation_api.store import guards, reads, writes
from allocation_api.store.enums import (
    AllocationEventType,
    AllocationTrigger,
    OverrideReason,
    PomStatus,
    PomType,
    ProbationService,
    Tier,
)
from allocation_api.store.failures import StoreConstraintViolation
from allocation_api.store.read_pool import ReadPool
from allocation_api.store.tables import (
    AllocationEvent,
    CaseInformation,
    IdempotencyKey,
    PomDetail,
)
from tests.store import session_reads

Sessions = async_sessionmaker[AsyncSession]


async def test_locking_a_new_prisoner_creates_an_empty_row_at_version_zero(
    sessions: Sessions, new_offender_no: Callable[[], str]
) -> None:
    no = new_offender_no()
    with track_calls() as calls:
        async with sessions() as session, session.begin():
            locked = await writes.lock_allocation(session, no, "LEI")
    assert calls.store == 3  # select, insert, select again
    assert (locked.offender_no, locked.prison_code, locked.version) == (no, "LEI", 0)
    assert locked.primary_pom_staff_id is None
    assert locked.override_reasons == []
    assert locked.created_at is not None

    with track_calls() as calls:
        async with sessions() as session, session.begin():
            again = await writes.lock_allocation(session, no, "MDI")
    assert calls.store == 1  # the row exists: one SELECT ... FOR UPDATE
    assert again.prison_code == "LEI"  # moving it is the caller's decision


async def test_locking_refuses_an_invalid_prisoner_number(sessions: Sessions) -> None:
    async with sessions() as session:
        with pytest.raises(StoreConstraintViolation) as raised:
            await writes.lock_allocation(session, "NOTANO1", "LEI")
    assert raised.value.constraint == "ck_allocation_offender_no"


async def test_an_allocation_change_is_three_statements_and_leaves_history(
    sessions: Sessions,
    read_pool: ReadPool,
    new_offender_no: Callable[[], str],
    new_staff_id: Callable[[], int],
) -> None:
    no, staff = new_offender_no(), new_staff_id()
    async with sessions() as session, session.begin():
        await writes.lock_allocation(session, no, "LEI")

    with track_calls() as calls:
        async with sessions() as session, session.begin():
            allocation = await writes.lock_allocation(session, no, "LEI")
            allocation.primary_pom_staff_id = staff
            allocation.primary_pom_name = "JONES, ANN"
            allocation.allocated_at_tier = Tier.B
            allocation.recommended_pom_type = PomType.PROBATION
            allocation.override_reasons = [OverrideReason.NO_STAFF]
            saved = await writes.save_allocation(session, allocation)
            event = await writes.append_event(
                session,
                AllocationEvent(
                    offender_no=no,
                    prison_code="LEI",
                    event=AllocationEventType.ALLOCATE_PRIMARY_POM,
                    trigger=AllocationTrigger.USER,
                    primary_pom_staff_id=staff,
                    allocation_version=saved.version,
                ),
            )
    # lock + update + insert; BEGIN/COMMIT are not statements, and nothing is
    # flushed again at commit.
    assert calls.store == 3
    assert saved is allocation
    assert saved.version == 1
    assert saved.updated_at >= saved.created_at
    assert event.id is not None
    assert event.created_at == saved.updated_at  # both the transaction's now()

    async with sessions() as session:
        stored = (await session_reads.allocations_by_offender_nos(session, [no]))[no]
        history = (await reads.events_by_offender_nos(read_pool, [no]))[no]
    assert stored.primary_pom_staff_id == staff
    assert stored.allocated_at_tier is Tier.B
    assert stored.recommended_pom_type is PomType.PROBATION
    assert stored.override_reasons == [OverrideReason.NO_STAFF]
    assert stored.version == 1
    assert [(e.event, e.allocation_version) for e in history] == [
        (AllocationEventType.ALLOCATE_PRIMARY_POM, 1)
    ]


async def test_saving_from_a_stale_version_is_a_conflict(
    sessions: Sessions, new_offender_no: Callable[[], str]
) -> None:
    no = new_offender_no()
    async with sessions() as session, session.begin():
        stale = await writes.lock_allocation(session, no, "LEI")
    async with sessions() as session, session.begin():
        current = await writes.lock_allocation(session, no, "LEI")
        await writes.save_allocation(session, current)

    stale.primary_pom_staff_id = 42
    async with sessions() as session:
        with pytest.raises(Conflict):
            await writes.save_allocation(session, stale)
        await session.rollback()
        row = (await session_reads.allocations_by_offender_nos(session, [no]))[no]
    assert (row.version, row.primary_pom_staff_id) == (1, None)


async def test_a_second_event_for_the_same_version_is_refused(
    sessions: Sessions, new_offender_no: Callable[[], str]
) -> None:
    no = new_offender_no()

    def event() -> AllocationEvent:
        return AllocationEvent(
            offender_no=no,
            prison_code="LEI",
            event=AllocationEventType.DEALLOCATE_PRIMARY_POM,
            trigger=AllocationTrigger.OFFENDER_TRANSFERRED,
            allocation_version=1,
        )

    async with sessions() as session:
        await writes.append_event(session, event())
        with pytest.raises(StoreConstraintViolation) as raised:
            await writes.append_event(session, event())
        await session.rollback()
    assert raised.value.constraint == "uq_allocation_event_offender_no_version"


async def test_locking_replaces_a_stale_copy_already_in_the_session(
    sessions: Sessions, new_offender_no: Callable[[], str]
) -> None:
    no = new_offender_no()
    async with sessions() as session, session.begin():
        await writes.lock_allocation(session, no, "LEI")

    async with sessions() as reader:
        early = (await session_reads.allocations_by_offender_nos(reader, [no]))[no]
        await reader.commit()
        async with sessions() as writer, writer.begin():
            row = await writes.lock_allocation(writer, no, "LEI")
            row.primary_pom_staff_id = 7
            await writes.save_allocation(writer, row)
        async with reader.begin():
            locked = await writes.lock_allocation(reader, no, "LEI")
    assert locked is early
    assert (locked.version, locked.primary_pom_staff_id) == (1, 7)


async def test_case_information_write_inserts_then_replaces_and_bumps_the_version(
    sessions: Sessions, new_offender_no: Callable[[], str]
) -> None:
    no = new_offender_no()
    key = {"offender_no": no}
    given = {
        "tier": Tier.C,
        "probation_service": ProbationService.WALES,
        "crn": "X123456",
        "updated_by_username": "SPO_USER",
    }
    with track_calls() as calls:
        async with sessions() as session, session.begin():
            first = await guards.write_versioned(
                session, CaseInformation, key, create=given, change=given, expected_version=None
            )
    assert calls.store == 1
    assert (first.version, first.tier, first.manual_entry) == (1, Tier.C, True)

    # Every field, as `updateCaseInformation` writes them.
    replaced: dict[str, object] = {
        "tier": None,
        "probation_service": None,
        "mappa_level": 1,
        "crn": None,
        "com_name": None,
        "com_email": None,
        "team_name": None,
        "ldu_code": None,
        "manual_entry": False,
        "updated_by_username": None,
    }
    async with sessions() as session, session.begin():
        second = await guards.write_versioned(
            session, CaseInformation, key, create=replaced, change=replaced, expected_version=None
        )
    assert second.version == 2
    assert second.tier is None  # every field is written: unknown replaces C
    assert second.probation_service is None
    assert (second.mappa_level, second.manual_entry) == (1, False)
    assert second.created_at == first.created_at
    assert second.updated_at > first.updated_at


async def test_pom_detail_write_versions_and_validates(
    sessions: Sessions, new_staff_id: Callable[[], int]
) -> None:
    staff = new_staff_id()
    key = {"staff_id": staff, "prison_code": "LEI"}
    async with sessions() as session, session.begin():
        first = await guards.write_versioned(
            session, PomDetail, key, create={}, change={}, expected_version=None
        )
    assert (first.version, first.working_pattern, first.status) == (1, 1.0, PomStatus.ACTIVE)

    change = {"working_pattern": 0.4, "status": PomStatus.UNAVAILABLE}
    with track_calls() as calls:
        async with sessions() as session, session.begin():
            second = await guards.write_versioned(
                session, PomDetail, key, create=change, change=change, expected_version=None
            )
    assert calls.store == 1
    assert (second.version, second.working_pattern, second.status) == (
        2,
        0.4,
        PomStatus.UNAVAILABLE,
    )

    async with sessions() as session:
        too_small = {"working_pattern": 0.05}
        with pytest.raises(StoreConstraintViolation) as raised:
            await guards.write_versioned(
                session, PomDetail, key, create=too_small, change=too_small, expected_version=None
            )
    assert raised.value.constraint == "ck_pom_detail_working_pattern"


async def test_an_idempotency_key_is_claimed_once_and_its_response_found_again(
    sessions: Sessions,
) -> None:
    key = f"retry-{uuid.uuid4()}"

    async def claim(
        session: AsyncSession, operation: str = "allocatePrimaryPom"
    ) -> IdempotencyKey | None:
        return await guards.claim_idempotency_key(
            session, key=key, operation=operation, request_hash="h1", username="SPO_USER"
        )

    async with sessions() as session, session.begin():
        assert await claim(session) is None  # claimed: nothing stored before
        await guards.store_idempotent_response(
            session, key=key, operation="allocatePrimaryPom", response={"version": 1}
        )
    async with sessions() as session:
        stored = await claim(session)  # taken: the first request's record
        assert stored is not None
        assert (stored.response, stored.request_hash) == ({"version": 1}, "h1")
        # Another operation with the same key is a different request.
        assert await claim(session, "deallocatePrimaryPom") is None
        await session.rollback()


async def test_freshly_built_objects_get_the_database_defaults(
    sessions: Sessions, new_offender_no: Callable[[], str]
) -> None:
    no = new_offender_no()
    async with sessions() as session, session.begin():
        event = await writes.append_event(
            session,
            AllocationEvent(
                offender_no=no,
                prison_code="LEI",
                event=AllocationEventType.ALLOCATE_PRIMARY_POM,
                trigger=AllocationTrigger.USER,
                allocation_version=1,
            ),
        )
        now = await session.scalar(sa.select(sa.func.now()))
    assert event.created_at == now
    assert event.override_reasons == []
