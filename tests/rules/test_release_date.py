from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from allocation_api.rules.release_date import (
    ReleaseDate,
    ReleaseDateKind,
    indeterminate_release_date,
    release_date_for_handover,
)
from tests.rules.builders import TODAY, Facts, d

PED = ReleaseDateKind.PED
ARD = ReleaseDateKind.ARD
CRD = ReleaseDateKind.CRD
TED = ReleaseDateKind.TED
THD = ReleaseDateKind.THD


def _release(text: str, kind: ReleaseDateKind) -> ReleaseDate:
    return ReleaseDate(d(text), kind)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        # PED if present, even in the past and even when ARD/CRD are earlier
        (
            Facts(
                paroleEligibilityDate=d("2026-01-01"),
                automaticReleaseDate=d("2025-09-01"),
                conditionalReleaseDate=d("2025-08-01"),
            ),
            _release("2026-01-01", PED),
        ),
        (Facts(paroleEligibilityDate=d("2020-01-01")), _release("2020-01-01", PED)),
        # otherwise the earlier of ARD and CRD; ARD on a tie
        (
            Facts(automaticReleaseDate=d("2026-01-01"), conditionalReleaseDate=d("2026-02-01")),
            _release("2026-01-01", ARD),
        ),
        (
            Facts(automaticReleaseDate=d("2026-03-01"), conditionalReleaseDate=d("2026-02-01")),
            _release("2026-02-01", CRD),
        ),
        (
            Facts(automaticReleaseDate=d("2026-02-01"), conditionalReleaseDate=d("2026-02-01")),
            _release("2026-02-01", ARD),
        ),
        (Facts(automaticReleaseDate=d("2026-02-01")), _release("2026-02-01", ARD)),
        (Facts(conditionalReleaseDate=d("2026-02-01")), _release("2026-02-01", CRD)),
        # never HDCED, releaseDate or a tariff date for a determinate sentence
        (
            Facts(
                releaseDate=d("2026-01-01"),
                homeDetentionCurfewEligibilityDate=d("2025-09-01"),
                tariffDate=d("2026-01-01"),
            ),
            None,
        ),
        (
            Facts(indeterminateSentence=False, automaticReleaseDate=d("2026-02-01")),
            _release("2026-02-01", ARD),
        ),
        (Facts(), None),
    ],
)
def test_determinate_release_date(facts: Facts, expected: ReleaseDate | None) -> None:
    assert release_date_for_handover(facts, None, TODAY) == expected


@pytest.mark.parametrize(
    ("ted", "thd", "expected"),
    [
        # TED strictly after today wins, even over an earlier future THD
        ("2030-01-01", "2026-01-01", _release("2030-01-01", TED)),
        ("2025-06-16", None, _release("2025-06-16", TED)),
        # TED today is not after today: a future THD takes over
        ("2025-06-15", "2025-06-16", _release("2025-06-16", THD)),
        ("2024-01-01", "2026-01-01", _release("2026-01-01", THD)),
        (None, "2026-01-01", _release("2026-01-01", THD)),
        # neither in the future: the nearer to today, TED on a tie
        ("2025-06-01", "2025-05-01", _release("2025-06-01", TED)),
        ("2025-05-01", "2025-06-01", _release("2025-06-01", THD)),
        ("2025-06-15", "2025-06-15", _release("2025-06-15", TED)),
        ("2025-06-15", "2025-06-14", _release("2025-06-15", TED)),
        ("2025-06-14", "2025-06-15", _release("2025-06-15", THD)),  # THD today not "after"
        ("2020-01-01", None, _release("2020-01-01", TED)),
        (None, "2020-01-01", _release("2020-01-01", THD)),
        (None, None, None),
    ],
)
def test_indeterminate_release_date(
    ted: str | None, thd: str | None, expected: ReleaseDate | None
) -> None:
    facts = Facts(
        indeterminateSentence=True,
        tariffDate=None if ted is None else d(ted),
        # determinate dates are ignored for an ISP
        paroleEligibilityDate=d("2025-07-01"),
        automaticReleaseDate=d("2025-07-01"),
    )
    thd_date = None if thd is None else d(thd)
    assert release_date_for_handover(facts, thd_date, TODAY) == expected


def test_thd_is_ignored_for_determinate_sentences() -> None:
    facts = Facts(automaticReleaseDate=d("2027-01-01"))
    assert release_date_for_handover(facts, d("2026-01-01"), TODAY) == _release("2027-01-01", ARD)


optional_dates = st.none() | st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2050, 1, 1))


@given(
    ted=optional_dates, thd=optional_dates, today=st.dates(dt.date(2010, 1, 1), dt.date(2040, 1, 1))
)
def test_indeterminate_picks_one_of_its_inputs(
    ted: dt.date | None, thd: dt.date | None, today: dt.date
) -> None:
    result = indeterminate_release_date(ted, thd, today)
    if ted is None and thd is None:
        assert result is None
        return
    assert result is not None
    assert result.date == (ted if result.kind is TED else thd)
    if (ted is not None and ted > today) or (thd is not None and thd > today):
        assert result.date > today
