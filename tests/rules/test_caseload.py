from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from allocation_api.rules.caseload import (
    CaseloadCounts,
    CaseRecord,
    CaseRole,
    count_caseload,
    is_new,
    is_upcoming_handover,
)
from allocation_api.rules.responsibility import Responsibility
from tests.rules.builders import TODAY, d

PRIMARY = CaseRole.PRIMARY
COWORKING = CaseRole.COWORKING
ONLY = Responsibility.CUSTODY_ONLY
WITH_COM = Responsibility.CUSTODY_WITH_COM
COMMUNITY = Responsibility.COMMUNITY
LONG_AGO = d("2024-01-01")


def _case(
    role: CaseRole = PRIMARY,
    tier: str | None = "C",
    allocated_at: dt.date = LONG_AGO,
    responsibility: Responsibility | None = ONLY,
    handover_date: dt.date | None = None,
) -> CaseRecord:
    return CaseRecord(role, tier, allocated_at, responsibility, handover_date)


def test_empty_caseload() -> None:
    assert count_caseload([], TODAY) == CaseloadCounts(
        primary=0,
        coworking=0,
        responsible=0,
        supporting=0,
        total=0,
        new_last_7_days=0,
        by_tier={"A": 0, "B": 0, "C": 0, "D": 0, "unknown": 0},
        upcoming_handovers=0,
    )


def test_mixed_caseload() -> None:
    cases = [
        _case(PRIMARY, "A", responsibility=ONLY, handover_date=d("2025-07-01")),
        _case(PRIMARY, "B", responsibility=WITH_COM, handover_date=d("2025-07-01")),
        _case(PRIMARY, "D", responsibility=COMMUNITY, allocated_at=TODAY),
        _case(PRIMARY, None, responsibility=None),  # unknown responsibility: neither
        _case(COWORKING, "A", responsibility=COMMUNITY, allocated_at=d("2025-06-10")),
        _case(COWORKING, "X", responsibility=ONLY),  # not a tier
    ]
    assert count_caseload(cases, TODAY) == CaseloadCounts(
        primary=4,
        coworking=2,
        responsible=2,
        supporting=1,
        total=6,
        new_last_7_days=2,
        by_tier={"A": 2, "B": 1, "C": 0, "D": 1, "unknown": 2},
        upcoming_handovers=1,
    )


@pytest.mark.parametrize(
    ("role", "responsibility", "responsible", "supporting"),
    [
        (PRIMARY, ONLY, 1, 0),
        (PRIMARY, WITH_COM, 1, 0),
        (PRIMARY, COMMUNITY, 0, 1),
        (PRIMARY, None, 0, 0),
        (COWORKING, ONLY, 0, 0),  # responsible/supporting are about primary cases only
        (COWORKING, COMMUNITY, 0, 0),
    ],
)
def test_responsible_and_supporting(
    role: CaseRole, responsibility: Responsibility | None, responsible: int, supporting: int
) -> None:
    counts = count_caseload([_case(role, responsibility=responsibility)], TODAY)
    assert (counts.responsible, counts.supporting) == (responsible, supporting)


@pytest.mark.parametrize(
    ("allocated_at", "new"),
    [
        ("2025-06-15", True),
        ("2025-06-08", True),  # exactly 7 days ago: still new
        ("2025-06-07", False),
        ("2025-06-16", False),  # in the future: bad data, not new
    ],
)
def test_new_in_the_last_7_days(allocated_at: str, new: bool) -> None:
    assert is_new(_case(allocated_at=d(allocated_at)), TODAY) is new


@pytest.mark.parametrize(
    ("responsibility", "handover_date", "upcoming"),
    [
        (ONLY, "2025-06-15", True),  # today
        (ONLY, "2025-08-10", True),  # exactly 56 days ahead: inclusive
        (ONLY, "2025-08-11", False),  # 57 days
        (ONLY, "2025-06-14", False),  # already past
        (ONLY, None, False),
        (WITH_COM, "2025-07-01", False),  # handover already under way
        (COMMUNITY, "2025-07-01", False),
        (None, "2025-07-01", False),
    ],
)
def test_upcoming_handover(
    responsibility: Responsibility | None, handover_date: str | None, upcoming: bool
) -> None:
    case = _case(
        responsibility=responsibility,
        handover_date=None if handover_date is None else d(handover_date),
    )
    assert is_upcoming_handover(case, TODAY) is upcoming


def test_upcoming_handover_counts_coworking_cases_too() -> None:
    case = _case(COWORKING, responsibility=ONLY, handover_date=d("2025-07-01"))
    assert count_caseload([case], TODAY).upcoming_handovers == 1


def test_by_tier_cannot_be_modified() -> None:
    counts = count_caseload([_case()], TODAY)
    with pytest.raises(TypeError):
        counts.by_tier["A"] = 5  # type: ignore[index]


cases = st.builds(
    CaseRecord,
    role=st.sampled_from(CaseRole),
    tier=st.sampled_from([None, "A", "B", "C", "D", "E", ""]),
    allocated_at=st.dates(dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
    responsibility=st.sampled_from([None, *Responsibility]),
    handover_date=st.none() | st.dates(dt.date(2025, 1, 1), dt.date(2026, 12, 31)),
)


@given(st.lists(cases, max_size=40))
def test_counts_add_up(caseload: list[CaseRecord]) -> None:
    counts = count_caseload(caseload, TODAY)
    assert counts.total == counts.primary + counts.coworking == len(caseload)
    assert sum(counts.by_tier.values()) == counts.total
    assert set(counts.by_tier) == {"A", "B", "C", "D", "unknown"}
    assert counts.responsible + counts.supporting <= counts.primary
    assert counts.new_last_7_days <= counts.total
    assert counts.upcoming_handovers <= counts.total
