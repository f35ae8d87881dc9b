"""Calendar arithmetic as the prison rules speak it.

Handover dates are written in policy as "release minus 8 months 14 days" and
the like. Those are *calendar* months, not 30-day blocks, and a day that does
not exist in the target month clamps to that month's last day
(31 Oct 2024 minus 8 months = 29 Feb 2024). `datetime` has no month
arithmetic, so it lives here, in one place, with the clamping rule explicit.
"""

from __future__ import annotations

import datetime as dt
from calendar import isleap

_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def days_in_month(year: int, month: int) -> int:
    """Number of days in `month` (1-12) of `year`, leap years included."""
    if month == 2 and isleap(year):
        return 29
    return _DAYS_IN_MONTH[month - 1]


def _shift_months(d: dt.date, months: int) -> dt.date:
    # Count months from year 0 so that year boundaries need no special case.
    index = d.year * 12 + (d.month - 1) + months
    year, month_index = divmod(index, 12)
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        # Same exception type as `date + timedelta` past the representable range.
        raise OverflowError("date value out of range")
    month = month_index + 1
    return dt.date(year, month, min(d.day, days_in_month(year, month)))


def plus_months(d: dt.date, months: int) -> dt.date:
    """`d` moved `months` calendar months later, clamped to the month's last day.

    A negative `months` moves earlier. Raises OverflowError only when the
    result falls outside the years `datetime.date` can represent.
    """
    return _shift_months(d, months)


def minus_months(d: dt.date, months: int) -> dt.date:
    """`d` moved `months` calendar months earlier, clamped to the month's last day.

    31 Oct 2024 minus 8 months is 29 Feb 2024 (2024 is a leap year); minus
    20 months it is 28 Feb 2023.
    """
    return _shift_months(d, -months)


def minus_months_and_days(d: dt.date, months: int, days: int) -> dt.date:
    """`d` minus `months` calendar months, *then* minus `days` days.

    The order matters: the rules say "minus 8 months 14 days", and clamping
    happens on the month step only (31 Oct 2024 -> 29 Feb 2024 -> 15 Feb 2024).
    """
    return minus_months(d, months) - dt.timedelta(days=days)


def age_on(dob: dt.date, today: dt.date) -> int:
    """Completed years of age on `today` for someone born on `dob`.

    The birthday counts on the day itself. Someone born on 29 February has
    their birthday on 1 March in non-leap years: they are not a year older
    until 28 February has fully passed, which is how England and Wales treat
    "leaplings" in practice and what plain (month, day) comparison gives.
    If `today` precedes `dob` the result is negative (bad data, not a crash).
    """
    years = today.year - dob.year
    if (today.month, today.day) < (dob.month, dob.day):
        years -= 1
    return years


ADULT_AGE = 18


def is_adult(dob: dt.date, today: dt.date) -> bool:
    """True from the 18th birthday (on the day) onwards; see `age_on` for 29 Feb."""
    return age_on(dob, today) >= ADULT_AGE
