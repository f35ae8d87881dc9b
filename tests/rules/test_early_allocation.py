from __future__ import annotations

import datetime as dt

import pytest

from allocation_api.rules.early_allocation import (
    EarlyAllocationAssessment,
    EarlyAllocationOutcome,
    counts_as_early_allocation,
    latest_assessment_since,
)
from tests.rules.builders import d

ELIGIBLE = EarlyAllocationOutcome.ELIGIBLE
DISCRETIONARY = EarlyAllocationOutcome.DISCRETIONARY
INELIGIBLE = EarlyAllocationOutcome.INELIGIBLE
SENTENCE_START = d("2024-03-01")


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
    assert counts_as_early_allocation(assessments, SENTENCE_START) is expected


def test_without_sentence_start_nothing_counts() -> None:
    assert not counts_as_early_allocation([_at("2024-04-01T10:00", ELIGIBLE)], None)


def test_accepts_any_iterable_once() -> None:
    assessments = (a for a in [_at("2024-04-01T10:00", ELIGIBLE)])
    assert counts_as_early_allocation(assessments, SENTENCE_START)


def test_latest_assessment_since() -> None:
    older = _at("2024-04-01T10:00", ELIGIBLE)
    newer = _at("2024-04-01T11:00", INELIGIBLE)
    before = _at("2025-01-01T10:00", ELIGIBLE)
    assert latest_assessment_since([newer, older], SENTENCE_START) is newer
    assert latest_assessment_since([older, newer, before], d("2025-01-01")) is before
    assert latest_assessment_since([older], d("2025-01-01")) is None
