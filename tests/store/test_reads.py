"""Batched reads: the right rows, in the right order, in exactly one SQL statement."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from allocation_api.calls import track_calls
from allocation_api.store import enums, reads
from allocation_api.store.enums import (
    AllocationEventType,
    AllocationTrigger,
    EarlyAllocationOutcome,
    OverrideReason,
    OverrideResponsibilityReason,
    PomStatus,
    Tier,
)
from allocation_api.store.owned_records import owned_records_by_offender_nos
from allocation_api.store.read_pool import Reader, ReadPool
from allocation_api.store.tables import (
    Allocation,
    AllocationEvent,
    CaseInformation,
    EarlyAllocation,
    ParoleReview,
    PomDetail,
    ResponsibilityOverride,
)
from tests.store import session_reads


@dataclass(frozen=True)
class World:
    """Prisoners O1..O6 and staff S1..S3 at LEI (and one transfer to MDI)."""

    o: dict[int, str]
    s: dict[int, int]


def _event(no: str, version: int, event_type: AllocationEventType, **pom: Any) -> AllocationEvent:
    return AllocationEvent(
        offender_no=no,
        prison_code="LEI",
        event=event_type,
        trigger=AllocationTrigger.USER,
        allocation_version=version,
        **pom,
    )


def _assessment(no: str, created_at: datetime, outcome: EarlyAllocationOutcome) -> EarlyAllocation:
    return EarlyAllocation(
        offender_no=no,
        created_at=created_at,
        outcome=outcome,
        convicted_under_terrorism_act=False,
        high_profile=outcome == EarlyAllocationOutcome.ELIGIBLE,
        serious_crime_prevention_order=False,
        mappa_level_3=False,
        cppc_case=False,
    )


@pytest.fixture(scope="module")
async def world(
    sessions: async_sessionmaker[AsyncSession],
    new_offender_no: Callable[[], str],
    new_staff_id: Callable[[], int],
) -> World:
    o = {i: new_offender_no() for i in range(1, 7)}
    s = {i: new_staff_id() for i in range(1, 4)}
    earlier = datetime(2024, 1, 1, tzinfo=UTC)
    async with sessions() as session, session.begin():
        session.add_all(
            [
                # O1: primary S1, co-worker S2; O2: primary S2; O3: no allocation row;
                # O4: primary S1 but at MDI (transferred); O5: row without POMs; O6: nothing.
                Allocation(
                    offender_no=o[1],
                    prison_code="LEI",
                    primary_pom_staff_id=s[1],
                    primary_pom_name="POM, ONE",
                    secondary_pom_staff_id=s[2],
                    allocated_at_tier=Tier.A,
                    override_reasons=[OverrideReason.CONTINUITY],
                    version=3,
                ),
                Allocation(offender_no=o[2], prison_code="LEI", primary_pom_staff_id=s[2]),
                Allocation(offender_no=o[4], prison_code="MDI", primary_pom_staff_id=s[1]),
                Allocation(offender_no=o[5], prison_code="LEI"),
                CaseInformation(offender_no=o[1], tier=Tier.A, mappa_level=2),
                CaseInformation(offender_no=o[2], tier=None),
                CaseInformation(offender_no=o[3], tier=Tier.B),
                CaseInformation(offender_no=o[5], tier=Tier.C),
                PomDetail(staff_id=s[1], prison_code="LEI", working_pattern=0.5),
                PomDetail(staff_id=s[1], prison_code="MDI", status=PomStatus.INACTIVE),
                PomDetail(staff_id=s[2], prison_code="LEI"),
                ResponsibilityOverride(
                    offender_no=o[1],
                    responsibility=enums.ResponsibilityOverride.PROBATION,
                    reason=OverrideResponsibilityReason.PRISONER_RECALLED,
                ),
            ]
        )
        # History and reviews are added in order, so ids rise in that order.
        for row in [
            _event(o[1], 1, AllocationEventType.ALLOCATE_PRIMARY_POM, primary_pom_staff_id=s[1]),
            _event(o[2], 1, AllocationEventType.ALLOCATE_PRIMARY_POM, primary_pom_staff_id=s[2]),
            _event(
                o[1],
                2,
                AllocationEventType.ALLOCATE_SECONDARY_POM,
                primary_pom_staff_id=s[1],
                secondary_pom_staff_id=s[2],
            ),
            ParoleReview(offender_no=o[1], target_hearing_date=date(2025, 1, 1)),
            ParoleReview(offender_no=o[2], target_hearing_date=date(2026, 6, 1)),
            ParoleReview(
                offender_no=o[1], target_hearing_date=date(2027, 1, 1), hearing_outcome="Release"
            ),
            # Recorded out of order: the read must order by created_at.
            _assessment(o[1], earlier + timedelta(days=30), EarlyAllocationOutcome.ELIGIBLE),
            _assessment(o[1], earlier, EarlyAllocationOutcome.INELIGIBLE),
        ]:
            session.add(row)
            await session.flush()
    return World(o, s)


@pytest.fixture
def one_statement() -> Iterator[None]:
    """Fails the test unless exactly one SQL statement ran inside it."""
    with track_calls() as calls:
        yield
    assert calls.store == 1, f"{calls.store} SQL statements, expected 1"


@pytest.mark.usefixtures("one_statement")
async def test_allocations_by_offender_nos(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    o, s = world.o, world.s
    async with sessions() as session:
        found = await session_reads.allocations_by_offender_nos(
            session, [o[1], o[2], o[3], o[6], o[1]]
        )
    assert set(found) == {o[1], o[2]}
    first = found[o[1]]
    assert (first.primary_pom_staff_id, first.secondary_pom_staff_id) == (s[1], s[2])
    assert first.allocated_at_tier is Tier.A  # enum members come back, not plain strings
    assert first.override_reasons == [OverrideReason.CONTINUITY]
    assert isinstance(first.override_reasons[0], OverrideReason)
    assert first.version == 3
    assert first.updated_at.tzinfo is not None


@pytest.mark.usefixtures("one_statement")
async def test_case_information_by_offender_nos(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    o = world.o
    async with sessions() as session:
        found = await session_reads.case_information_by_offender_nos(session, list(o.values()))
    assert set(found) == {o[1], o[2], o[3], o[5]}
    assert found[o[1]].tier is Tier.A
    assert found[o[1]].mappa_level == 2
    assert found[o[2]].tier is None
    assert found[o[2]].manual_entry is True
    assert found[o[2]].version == 1


@pytest.mark.usefixtures("one_statement")
async def test_pom_details_by_keys_matches_whole_pairs_only(
    read_pool: ReadPool, world: World
) -> None:
    s = world.s
    keys = [(s[1], "LEI"), (s[1], "MDI"), (s[2], "MDI"), (s[3], "LEI"), (s[1], "LEI")]
    found = await reads.pom_details_by_keys(read_pool, keys)
    # S2 works at LEI and someone works at MDI, but (S2, MDI) is not a row.
    assert set(found) == {(s[1], "LEI"), (s[1], "MDI")}
    assert found[(s[1], "LEI")].working_pattern == 0.5
    assert found[(s[1], "LEI")].status is PomStatus.ACTIVE
    assert found[(s[1], "MDI")].working_pattern == 1.0
    assert found[(s[1], "MDI")].status is PomStatus.INACTIVE


@pytest.mark.usefixtures("one_statement")
async def test_events_by_offender_nos_oldest_first_with_every_key_present(
    read_pool: ReadPool, world: World
) -> None:
    o = world.o
    found = await reads.events_by_offender_nos(read_pool, [o[1], o[2], o[3]])
    assert set(found) == {o[1], o[2], o[3]}
    assert [e.event for e in found[o[1]]] == [
        AllocationEventType.ALLOCATE_PRIMARY_POM,
        AllocationEventType.ALLOCATE_SECONDARY_POM,
    ]
    assert [e.allocation_version for e in found[o[1]]] == [1, 2]
    assert [e.trigger for e in found[o[2]]] == [AllocationTrigger.USER]
    assert found[o[3]] == []


@pytest.mark.usefixtures("one_statement")
async def test_caseloads_by_staff_ids_cover_primary_and_co_working_cases_at_the_prison(
    read_pool: ReadPool, world: World
) -> None:
    o, s = world.o, world.s
    found = await reads.caseloads_by_staff_ids(read_pool, "LEI", [s[1], s[2], s[3]])
    assert {staff: [a.offender_no for a in rows] for staff, rows in found.items()} == {
        s[1]: [o[1]],  # O4 is S1's, but at MDI
        s[2]: sorted([o[1], o[2]]),
        s[3]: [],
    }


@pytest.mark.usefixtures("one_statement")
async def test_responsibility_overrides_by_offender_nos(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    o = world.o
    async with sessions() as session:
        found = await session_reads.responsibility_overrides_by_offender_nos(session, [o[1], o[2]])
    assert list(found) == [o[1]]
    assert found[o[1]].responsibility is enums.ResponsibilityOverride.PROBATION
    assert found[o[1]].reason is OverrideResponsibilityReason.PRISONER_RECALLED


@pytest.mark.usefixtures("one_statement")
async def test_parole_reviews_by_offender_nos_in_recorded_order(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    o = world.o
    async with sessions() as session:
        found = await session_reads.parole_reviews_by_offender_nos(session, [o[1], o[2], o[6]])
    assert [r.target_hearing_date for r in found[o[1]]] == [date(2025, 1, 1), date(2027, 1, 1)]
    assert [r.hearing_outcome for r in found[o[1]]] == [None, "Release"]
    assert len(found[o[2]]) == 1
    assert found[o[6]] == []


@pytest.mark.usefixtures("one_statement")
async def test_early_allocations_by_offender_nos_latest_last(
    sessions: async_sessionmaker[AsyncSession], world: World
) -> None:
    o = world.o
    async with sessions() as session:
        found = await session_reads.early_allocations_by_offender_nos(session, [o[1], o[2]])
    assert [a.outcome for a in found[o[1]]] == [
        EarlyAllocationOutcome.INELIGIBLE,
        EarlyAllocationOutcome.ELIGIBLE,
    ]
    assert found[o[2]] == []


@pytest.mark.usefixtures("one_statement")
async def test_allocation_status_answers_every_number(read_pool: ReadPool, world: World) -> None:
    o = world.o
    found = await reads.allocation_status(read_pool, list(o.values()))
    assert found == {
        o[1]: (True, True),
        o[2]: (True, False),  # case information without a tier is not ready
        o[3]: (False, True),
        o[4]: (True, False),
        o[5]: (False, True),
        o[6]: (False, False),
    }


@pytest.mark.usefixtures("one_statement")
async def test_allocation_status_at_a_prison_ignores_allocations_elsewhere(
    read_pool: ReadPool, world: World
) -> None:
    o = world.o
    found = await reads.allocation_status(read_pool, [o[1], o[4]], prison_code="LEI")
    assert found == {o[1]: (True, True), o[4]: (False, False)}


BATCH_READS: list[tuple[str, Callable[[AsyncSession, Reader, int], Any]]] = [
    ("allocations", lambda s, r, n: session_reads.allocations_by_offender_nos(s, _numbers(n))),
    (
        "case_information",
        lambda s, r, n: session_reads.case_information_by_offender_nos(s, _numbers(n)),
    ),
    ("events", lambda s, r, n: reads.events_by_offender_nos(r, _numbers(n))),
    (
        "overrides",
        lambda s, r, n: session_reads.responsibility_overrides_by_offender_nos(s, _numbers(n)),
    ),
    ("parole", lambda s, r, n: session_reads.parole_reviews_by_offender_nos(s, _numbers(n))),
    ("early", lambda s, r, n: session_reads.early_allocations_by_offender_nos(s, _numbers(n))),
    ("status", lambda s, r, n: reads.allocation_status(r, _numbers(n), prison_code="LEI")),
    ("poms", lambda s, r, n: reads.pom_details_by_keys(r, [(i, "LEI") for i in range(n)])),
    ("caseloads", lambda s, r, n: reads.caseloads_by_staff_ids(r, "LEI", list(range(n)))),
]


def _numbers(n: int) -> list[str]:
    return [f"Z{i:04d}ZZ" for i in range(n)]


@pytest.mark.parametrize(("name", "read"), BATCH_READS, ids=[name for name, _ in BATCH_READS])
async def test_a_batch_of_a_thousand_keys_is_one_statement_with_the_same_text(
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    read_pool: ReadPool,
    name: str,
    read: Callable[[AsyncSession, Reader, int], Any],
) -> None:
    """Keys travel as one array parameter, so the SQL text never depends on the batch size.

    Statements go through SQLAlchemy (seen by its cursor event) or, for the
    request path's reads, the read pool (seen by a reader that records them).
    """
    sent: list[str] = []

    def remember(*args: Any) -> None:
        sent.append(args[2])

    class Recording:
        async def fetch(self, sql: str, *args: Any) -> Any:
            sent.append(sql)
            return await read_pool.fetch(sql, *args)

    event.listen(engine.sync_engine, "before_cursor_execute", remember)
    try:
        for size in (2, 1000):
            with track_calls() as calls:
                async with sessions() as session:
                    await read(session, Recording(), size)
            assert calls.store == 1
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", remember)
    assert len(sent) == 2
    assert sent[0] == sent[1]


@pytest.mark.parametrize(("name", "read"), BATCH_READS, ids=[name for name, _ in BATCH_READS])
async def test_an_empty_batch_sends_nothing(
    sessions: async_sessionmaker[AsyncSession],
    read_pool: ReadPool,
    name: str,
    read: Callable[[AsyncSession, Reader, int], Any],
) -> None:
    with track_calls() as calls:
        async with sessions() as session:
            assert await read(session, read_pool, 0) == {}
    assert calls.store == 0


@pytest.mark.usefixtures("one_statement")
async def test_owned_records_bring_every_kind_of_owned_data_in_one_statement(
    read_pool: ReadPool, world: World
) -> None:
    o, s = world.o, world.s
    found = await owned_records_by_offender_nos(read_pool, [o[1], o[3], o[6], o[1]])
    assert set(found) == {o[1], o[3], o[6]}

    first = found[o[1]]
    assert first.allocation is not None
    assert first.allocation.primary_pom_staff_id == s[1]
    assert first.allocation.allocated_at_tier is Tier.A
    assert first.allocation.override_reasons == [OverrideReason.CONTINUITY]
    assert first.allocation.updated_at.tzinfo is not None
    assert first.case_information is not None
    assert first.case_information.tier is Tier.A
    assert first.responsibility_override is not None
    assert first.responsibility_override.reason is OverrideResponsibilityReason.PRISONER_RECALLED
    assert [r.target_hearing_date for r in first.parole_reviews] == [
        date(2025, 1, 1),
        date(2027, 1, 1),
    ]
    # In recorded (id) order, which here differs from assessment-date order.
    assert [a.outcome for a in first.early_allocations] == [
        EarlyAllocationOutcome.ELIGIBLE,
        EarlyAllocationOutcome.INELIGIBLE,
    ]

    only_case_information = found[o[3]]
    assert only_case_information.allocation is None
    assert only_case_information.case_information is not None
    assert only_case_information.case_information.tier is Tier.B

    nothing = found[o[6]]
    assert (nothing.allocation, nothing.case_information, nothing.responsibility_override) == (
        None,
        None,
        None,
    )
    assert (nothing.parole_reviews, nothing.early_allocations) == ([], [])


async def test_owned_records_agree_with_the_single_kind_reads(
    sessions: async_sessionmaker[AsyncSession], read_pool: ReadPool, world: World
) -> None:
    """The JSON route must rebuild rows exactly as the ORM loads them."""
    nos = list(world.o.values())
    combined = await owned_records_by_offender_nos(read_pool, nos)
    async with sessions() as session:
        allocations = await session_reads.allocations_by_offender_nos(session, nos)
        case_information = await session_reads.case_information_by_offender_nos(session, nos)

    def same(view: object, row: object) -> bool:
        if view is None or row is None:
            return view is row
        return all(
            getattr(view, f.name) == getattr(row, f.name)
            for f in dataclasses.fields(view)  # type: ignore[arg-type]
        )

    for no in nos:
        assert same(combined[no].allocation, allocations.get(no))
        assert same(combined[no].case_information, case_information.get(no))
