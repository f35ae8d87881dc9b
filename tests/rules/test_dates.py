from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from allocation_api.rules.dates import (
    age_on,
    days_in_month,
    is_adult,
    minus_months,
    minus_months_and_days,
    plus_months,
)
from tests.rules.builders import d

reasonable_dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31))


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2024-10-31", 8, "2024-02-29"),  # the DOMAIN.md example: clamps into a leap February
        ("2023-10-31", 8, "2023-02-28"),  # same, non-leap year
        ("2024-10-31", 20, "2023-02-28"),
        ("2024-03-31", 1, "2024-02-29"),
        ("2024-05-31", 1, "2024-04-30"),
        ("2024-01-15", 1, "2023-12-15"),  # crosses a year boundary
        ("2024-01-31", 13, "2022-12-31"),
        ("2024-02-29", 12, "2023-02-28"),
        ("2024-02-29", 48, "2020-02-29"),
        ("2100-03-31", 1, "2100-02-28"),  # 2100 is not a leap year
        ("2000-03-31", 1, "2000-02-29"),  # 2000 is
        ("2025-06-15", 0, "2025-06-15"),
        ("2025-06-15", -1, "2025-07-15"),  # negative months move later
    ],
)
def test_minus_months(start: str, months: int, expected: str) -> None:
    assert minus_months(d(start), months) == d(expected)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2024-01-31", 1, "2024-02-29"),
        ("2023-01-31", 1, "2023-02-28"),
        ("2024-12-15", 1, "2025-01-15"),
        ("2024-02-29", 12, "2025-02-28"),
        ("2024-08-31", 10, "2025-06-30"),
        ("2024-03-31", -1, "2024-02-29"),
    ],
)
def test_plus_months(start: str, months: int, expected: str) -> None:
    assert plus_months(d(start), months) == d(expected)


@pytest.mark.parametrize(
    ("start", "months", "days", "expected"),
    [
        ("2024-10-31", 8, 14, "2024-02-15"),
        ("2025-03-10", 8, 14, "2024-06-26"),
        # Months first, then days: 31 Mar -> 29 Feb -> 28 Feb. Days first would
        # give 30 Mar -> 29 Feb, so this row tells the two orders apart.
        ("2024-03-31", 1, 1, "2024-02-28"),
        ("2025-01-10", 8, 14, "2024-04-26"),
    ],
)
def test_minus_months_and_days(start: str, months: int, days: int, expected: str) -> None:
    assert minus_months_and_days(d(start), months, days) == d(expected)


def test_out_of_range_raises_overflow_like_date_arithmetic() -> None:
    with pytest.raises(OverflowError):
        minus_months(dt.date(1, 1, 1), 1)
    with pytest.raises(OverflowError):
        plus_months(dt.date(9999, 12, 1), 1)


@pytest.mark.parametrize(
    ("year", "month", "days"),
    [(2024, 2, 29), (2023, 2, 28), (1900, 2, 28), (2000, 2, 29), (2025, 4, 30), (2025, 12, 31)],
)
def test_days_in_month(year: int, month: int, days: int) -> None:
    assert days_in_month(year, month) == days


@given(day=reasonable_dates, months=st.integers(min_value=0, max_value=1200))
def test_minus_months_lands_in_the_right_month_and_clamps(day: dt.date, months: int) -> None:
    result = minus_months(day, months)
    assert (day.year * 12 + day.month) - (result.year * 12 + result.month) == months
    assert result.day == min(day.day, days_in_month(result.year, result.month))
    assert result <= day


@given(day=reasonable_dates, months=st.integers(min_value=-1200, max_value=1200))
def test_plus_is_minus_of_the_negation(day: dt.date, months: int) -> None:
    assert plus_months(day, months) == minus_months(day, -months)


@given(
    day=reasonable_dates,
    months=st.integers(min_value=0, max_value=120),
    days=st.integers(min_value=0, max_value=400),
)
def test_minus_months_and_days_is_months_then_days(day: dt.date, months: int, days: int) -> None:
    expected = minus_months(day, months) - dt.timedelta(days=days)
    assert minus_months_and_days(day, months, days) == expected


@pytest.mark.parametrize(
    ("dob", "today", "age"),
    [
        ("2007-06-15", "2025-06-15", 18),  # 18th birthday counts on the day
        ("2007-06-15", "2025-06-14", 17),  # the day before
        ("2007-06-15", "2025-06-16", 18),
        ("2007-12-31", "2025-01-01", 17),
        ("2004-02-29", "2022-02-28", 17),  # leapling: not yet in a non-leap year
        ("2004-02-29", "2022-03-01", 18),  # ... birthday taken on 1 March
        ("2004-02-29", "2024-02-28", 19),
        ("2004-02-29", "2024-02-29", 20),  # real birthday in a leap year
        ("2025-06-15", "2025-06-15", 0),
        ("2025-06-16", "2025-06-15", -1),  # bad data: negative, not a crash
    ],
)
def test_age_on(dob: str, today: str, age: int) -> None:
    assert age_on(d(dob), d(today)) == age


@pytest.mark.parametrize(
    ("dob", "today", "adult"),
    [
        ("2007-06-15", "2025-06-15", True),
        ("2007-06-15", "2025-06-14", False),
        ("2008-02-29", "2026-02-28", False),
        ("2008-02-29", "2026-03-01", True),
        ("2008-02-29", "2028-02-29", True),
        ("1950-01-01", "2025-06-15", True),
    ],
)
def test_is_adult(dob: str, today: str, adult: bool) -> None:
    assert is_adult(d(dob), d(today)) is adult


@given(dob=reasonable_dates, years=st.integers(min_value=0, max_value=120))
def test_age_increments_exactly_on_the_birthday(dob: dt.date, years: int) -> None:
    birthday = plus_months(dob, 12 * years)
    if (dob.month, dob.day) == (2, 29) and birthday.day == 28:
        birthday += dt.timedelta(days=1)  # leaplings: 1 March in non-leap years
    assert age_on(dob, birthday) == years
    assert age_on(dob, birthday - dt.timedelta(days=1)) == years - 1
