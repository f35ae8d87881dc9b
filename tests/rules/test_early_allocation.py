from __future__ import annotations

import datetime as dt

import pytest

from allocation_api.rules.early_allocation import (
    EarlyAllocationAssessment,
    EarlyAllocationOutcome,
    EarlyAllocationWindow,
    counts_as_early_allocation,
    earliest_key_date,
    latest_assessment_since,
)
from tests.rules.builders import d

ELIGIBLE = EarlyAllocationOutcome.ELIGIBLE
DISCRETIONARY = EarlyAllocationOutcome.DISCRETIONARY
INELIGIBLE = EarlyAllocationOutcome.INELIGIBLE
SENTENCE_START = d("2024-03-01")
# Every assessment below (2024) is inside this window: key date 2025-06-01,
# window opened 2023-12-01; no licence expiry.
OPEN = EarlyAllocationWindow(d("2025-06-01"), None, d("2024-06-01"))


def _at(
    text: str, outcome: EarlyAllocationOutcome, decision: bool | None = None
) -> EarlyAllocationAssessment:
    return EarlyAllocationAssessment(dt.datetime.fromisoformat(text), outcome, decision)


@pytest.mark.parametrize(
    ("assessments", "expected"),
    [
        ([], False),
        ([_at("2024-04-01T10:00", ELIGIBLE)], True),
        ([_at("2024-04-01T10:00", INELIGIBLE)], False),
        ([_at("2024-04-01T10:00", DISCRETIONARY, True)], True),
        ([_at("2024-04-01T10:00", DISCRETIONARY, False)], False),
        ([_at("2024-04-01T10:00", DISCRETIONARY, None)], False),  # awaiting the community
        # only the latest counts
        ([_at("2024-04-01T10:00", ELIGIBLE), _at("2024-05-01T10:00", INELIGIBLE)], False),
        ([_at("2024-05-01T10:00", INELIGIBLE), _at("2024-04-01T10:00", ELIGIBLE)], False),
        ([_at("2024-04-01T10:00", INELIGIBLE), _at("2024-05-01T10:00", ELIGIBLE)], True),
        # assessments before the sentence started are ignored
        ([_at("2024-02-29T23:59", ELIGIBLE)], False),
        ([_at("2024-03-01T00:00", ELIGIBLE)], True),  # on the start day counts
        ([_at("2024-04-01T10:00", ELIGIBLE), _at("2024-02-01T10:00", INELIGIBLE)], True),
        # same timestamp: the one stored later wins
        ([_at("2024-04-01T10:00", INELIGIBLE), _at("2024-04-01T10:00", ELIGIBLE)], True),
        ([_at("2024-04-01T10:00", ELIGIBLE), _at("2024-04-01T10:00", INELIGIBLE)], False),
    ],
)
def test_counts_as_early_allocation(
    assessments: list[EarlyAllocationAssessment], expected: bool
) -> None:
    assert counts_as_early_allocation(assessments, SENTENCE_START, OPEN) is expected


def test_without_sentence_start_nothing_counts() -> None:
    assert not counts_as_early_allocation([_at("2024-04-01T10:00", ELIGIBLE)], None, OPEN)


def test_accepts_any_iterable_once() -> None:
    assessments = (a for a in [_at("2024-04-01T10:00", ELIGIBLE)])
    assert counts_as_early_allocation(assessments, SENTENCE_START, OPEN)


def test_latest_assessment_since() -> None:
    older = _at("2024-04-01T10:00", ELIGIBLE)
    newer = _at("2024-04-01T11:00", INELIGIBLE)
    before = _at("2025-01-01T10:00", ELIGIBLE)
    assert latest_assessment_since([newer, older], SENTENCE_START) is newer
    assert latest_assessment_since([older, newer, before], d("2025-01-01")) is before
    assert latest_assessment_since([older], d("2025-01-01")) is None


ASSESSED = _at("2024-04-01T10:00", ELIGIBLE)


@pytest.mark.parametrize(
    ("key_date", "expected"),
    [
        # Made 2024-04-01: counts when the earliest key date was at most 18 months away.
        (d("2025-10-01"), True),  # exactly 18 months after the assessment
        (d("2025-10-02"), False),  # 18 months and a day: made too early
        (d("2024-06-01"), True),
        (d("2024-03-15"), True),  # the date had already passed: well inside
        (None, False),  # no TED, PED, THD, ARD or CRD: no window to be made in
    ],
)
def test_the_assessment_must_be_made_in_the_referral_window(
    key_date: dt.date | None, expected: bool
) -> None:
    window = EarlyAllocationWindow(key_date, None, d("2024-06-01"))
    assert counts_as_early_allocation([ASSESSED], SENTENCE_START, window) is expected


def test_the_window_moves_by_calendar_months_clamped() -> None:
    # 31 Aug 2025 minus 18 months is 29 Feb 2024 (clamped to the leap month's last
    # day): an assessment on 2024-02-29 is inside, one on 2024-02-28 is not.
    window = EarlyAllocationWindow(d("2025-08-31"), None, d("2024-06-01"))
    start = d("2024-01-01")
    assert counts_as_early_allocation([_at("2024-02-29T09:00", ELIGIBLE)], start, window)
    assert not counts_as_early_allocation([_at("2024-02-28T23:00", ELIGIBLE)], start, window)


@pytest.mark.parametrize(
    ("licence_expiry", "expected"),
    [
        (d("2024-06-02"), True),
        (d("2024-06-01"), True),  # expires today: not already past
        (d("2024-05-31"), False),  # expired yesterday
        (None, True),
    ],
)
def test_an_expired_licence_ends_early_allocation(
    licence_expiry: dt.date | None, expected: bool
) -> None:
    window = EarlyAllocationWindow(d("2025-06-01"), licence_expiry, d("2024-06-01"))
    assert counts_as_early_allocation([ASSESSED], SENTENCE_START, window) is expected


def test_a_discretionary_case_needs_the_community_decision_and_the_window() -> None:
    accepted = _at("2024-04-01T10:00", DISCRETIONARY, True)
    assert counts_as_early_allocation([accepted], SENTENCE_START, OPEN)
    late = EarlyAllocationWindow(d("2026-01-01"), None, d("2024-06-01"))
    assert not counts_as_early_allocation([accepted], SENTENCE_START, late)


def test_earliest_key_date_ignores_missing_dates() -> None:
    assert earliest_key_date(None, d("2026-01-01"), None, d("2025-05-05"), None) == d("2025-05-05")
    assert earliest_key_date(None, None) is None
