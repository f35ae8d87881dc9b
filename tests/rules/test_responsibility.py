from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from allocation_api.rules.responsibility import (
    Responsibility,
    ResponsibilityOverride,
    responsibility_for_override,
    responsibility_from_dates,
)
from tests.rules.builders import d

ONLY = Responsibility.CUSTODY_ONLY
WITH_COM = Responsibility.CUSTODY_WITH_COM
COMMUNITY = Responsibility.COMMUNITY


@pytest.mark.parametrize(
    ("handover", "start", "today", "expected"),
    [
        (None, None, "2025-06-15", COMMUNITY),  # no handover date: COM at once
        ("2026-01-01", "2025-09-01", "2025-08-31", ONLY),  # before the start date
        ("2026-01-01", "2025-09-01", "2025-09-01", WITH_COM),  # start date counts
        ("2026-01-01", "2025-09-01", "2025-12-31", WITH_COM),
        ("2026-01-01", "2025-09-01", "2026-01-01", COMMUNITY),  # on the handover date
        ("2026-01-01", "2026-01-01", "2025-12-31", ONLY),  # start == handover: no window
        ("2026-01-01", "2026-01-01", "2026-01-01", COMMUNITY),
        ("2026-01-01", None, "2025-12-31", ONLY),  # missing start: starts at handover
    ],
)
def test_responsibility_from_dates(
    handover: str | None, start: str | None, today: str, expected: Responsibility
) -> None:
    result = responsibility_from_dates(
        None if handover is None else d(handover), None if start is None else d(start), d(today)
    )
    assert result is expected


@given(
    handover=st.dates(dt.date(2000, 1, 1), dt.date(2040, 1, 1)),
    window=st.integers(min_value=0, max_value=800),
    today=st.dates(dt.date(2000, 1, 1), dt.date(2040, 1, 1)),
)
def test_responsibility_only_moves_towards_the_community(
    handover: dt.date, window: int, today: dt.date
) -> None:
    start = handover - dt.timedelta(days=window)
    now = responsibility_from_dates(handover, start, today)
    later = responsibility_from_dates(handover, start, today + dt.timedelta(days=1))
    order = [ONLY, WITH_COM, COMMUNITY]
    assert order.index(later) >= order.index(now)


@pytest.mark.parametrize(
    ("override", "expected"),
    [(ResponsibilityOverride.PROBATION, COMMUNITY), (ResponsibilityOverride.PRISON, WITH_COM)],
)
def test_responsibility_for_override(
    override: ResponsibilityOverride, expected: Responsibility
) -> None:
    assert responsibility_for_override(override) is expected


@pytest.mark.parametrize(
    ("responsibility", "pom_responsible"), [(ONLY, True), (WITH_COM, True), (COMMUNITY, False)]
)
def test_pom_responsible(responsibility: Responsibility, pom_responsible: bool) -> None:
    assert responsibility.pom_responsible is pom_responsible
