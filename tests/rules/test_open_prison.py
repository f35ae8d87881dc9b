from __future__ import annotations

import datetime as dt

import pytest

from allocation_api.rules.open_prison import (
    MENS_OPEN_PRISONS,
    PRESCOED,
    WOMENS_PRISONS,
    open_conditions_entry_date,
)
from tests.rules.builders import d


def _entry(
    prison_id: str | None,
    *,
    arrival: str | None = None,
    welsh: bool = False,
    category: str | None = None,
    category_since: str | None = None,
) -> dt.date | None:
    return open_conditions_entry_date(
        prison_id=prison_id,
        category=category,
        prison_arrival_date=None if arrival is None else d(arrival),
        welsh_offender=welsh,
        category_active_since=None if category_since is None else d(category_since),
    )


@pytest.mark.parametrize(
    ("prison_id", "arrival", "welsh", "expected"),
    [
        # men's open prisons: arrival on or after 31 March 2021
        ("HVI", "2021-03-31", False, "2021-03-31"),
        ("HVI", "2021-03-30", False, None),
        ("FDI", "2024-05-01", False, "2024-05-01"),
        ("LEI", "2024-05-01", False, None),  # closed prison
        ("HVI", None, False, None),  # arrival unknown
        # Prescoed pilot for Welsh prisoners from 19 October 2020
        (PRESCOED, "2020-10-19", True, "2020-10-19"),
        (PRESCOED, "2020-10-18", True, None),
        (PRESCOED, "2020-12-01", False, None),  # not Welsh: pilot does not apply yet
        (PRESCOED, "2021-03-31", False, "2021-03-31"),  # ... but the general rule does
        (PRESCOED, "2021-03-31", True, "2021-03-31"),
        ("SWI", "2020-12-01", True, None),  # Welsh but not in Prescoed
        (None, "2024-01-01", True, None),
    ],
)
def test_mens_estate(
    prison_id: str | None, arrival: str | None, welsh: bool, expected: str | None
) -> None:
    assert _entry(prison_id, arrival=arrival, welsh=welsh) == (
        None if expected is None else d(expected)
    )


@pytest.mark.parametrize(
    ("prison_id", "category", "category_since", "expected"),
    [
        ("STI", "T", "2023-02-01", "2023-02-01"),  # category T in a women's prison
        ("AGI", "T", "2019-01-01", "2019-01-01"),  # no rollout date for women
        ("STI", "R", "2023-02-01", None),  # closed women's category
        ("STI", None, "2023-02-01", None),
        ("STI", "T", None, None),  # since-date unknown
        ("HVI", "T", "2023-02-01", "2024-01-01"),  # men: arrival counts, not category
    ],
)
def test_womens_estate(
    prison_id: str, category: str | None, category_since: str | None, expected: str | None
) -> None:
    result = _entry(
        prison_id, arrival="2024-01-01", category=category, category_since=category_since
    )
    assert result == (None if expected is None else d(expected))


def test_womens_prison_ignores_arrival_date() -> None:
    assert _entry("STI", arrival="2024-01-01", category="R") is None


def test_prison_lists_are_agency_codes_and_disjoint() -> None:
    for code in MENS_OPEN_PRISONS | WOMENS_PRISONS:
        assert len(code) == 3
        assert code.isupper()
    assert not MENS_OPEN_PRISONS & WOMENS_PRISONS
    assert PRESCOED in MENS_OPEN_PRISONS
